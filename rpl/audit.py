"""The tamper-evident audit log: its entries, their canonical bytes, the hash chain and its check.

Pure: no database, no clock. Entry n is chained to the one before it,

    h_0 = GENESIS        h_n = sha256(h_{n-1} || JCS(entry_n))

where `h_{n-1}` is the previous hash as 32 raw bytes and JCS(entry) the RFC 8785 canonical JSON of
the entry's own fields: seq, kind, actor, subject, at, data. Its seq is hashed too, so an entry
cannot be moved to another place without its hash saying so.

Changing, removing, adding or moving an entry breaks the chain at that point; `verify_chain` names
the first broken position and the kind of damage it looks like. What no chain can show by itself:
sha256 has no key, so whoever can write the table can rewrite it from some entry on, recomputing
every hash after it, or cut entries off its end. The stored head (the last seq and hash, kept in
the same transaction as each append) catches a cut that forgot the head; an anchor kept outside
the database (`expect_head`, a head someone wrote down earlier) catches the rest up to that anchor.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from rpl.claims import SYSTEM, Claim
from rpl.errors import RplError
from rpl.organisations import Organisation
from rpl.proofs.dataintegrity import CanonicalizationError
from rpl.proofs.jcs import canonicalize

# The hash "before" entry 1: fixed, and named so it cannot be mistaken for another log's.
GENESIS = hashlib.sha256(b"rpl audit log v1 genesis").hexdigest()
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width: one text per instant
_HASH = re.compile(r"[0-9a-f]{64}")
_WINDOW = 1024  # recent good entries remembered, to tell an insertion from a rewrite
_PROBE = 64  # how far from its stored seq an entry's hashed seq is looked for


class AuditError(RplError):
    """Base of the audit log's errors."""


class InvalidAuditEntryError(AuditError):
    """An entry that cannot be hashed: naive time, an empty field, data that is not JSON."""


class AuditHeadMissingError(AuditError):
    """The stored head of the log is gone, so nothing can be appended after it."""


@dataclass(frozen=True)
class Head:
    """Where a chain ends: the last entry's seq and hash (seq 0 and GENESIS when empty)."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


START = Head(0, GENESIS)  # the head of an empty log


@dataclass(frozen=True)
class Anchor:
    """A head written down outside the database; `seq` is optional (`HASH` or `SEQ:HASH`)."""

    hash: str
    seq: int | None = None

    @classmethod
    def parse(cls, text: str) -> Anchor:
        seq, _, digest = text.strip().lower().rpartition(":")
        if not _HASH.fullmatch(digest) or (seq and not seq.isdigit()):
            raise InvalidAuditEntryError(f"{text!r} is not a head: give HASH or SEQ:HASH")
        return cls(digest, int(seq) if seq else None)


class Change(NamedTuple):
    """What a service records: `tx.audit.append(*change, now)`."""

    kind: str
    actor: str
    subject: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class UnreadableData:
    """Stored data that is not JSON (edited by hand): it never hashes; its entry reads as changed."""

    text: str


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    kind: str
    actor: str
    subject: str
    at: str  # RFC 3339 UTC text, exactly as hashed
    data: Mapping[str, Any] | UnreadableData
    prev_hash: str
    hash: str


# --- canonical bytes and the chain ----------------------------------------------------------


def format_time(at: datetime) -> str:
    if not isinstance(at, datetime) or at.utcoffset() is None:
        raise InvalidAuditEntryError(f"audit time {at!r} must be a timezone-aware datetime")
    return at.astimezone(UTC).strftime(TIME_FORMAT)


def canonical(entry: AuditEntry) -> bytes:
    """JCS (RFC 8785) of the entry's own fields; the hashes are not part of it."""
    if isinstance(entry.data, UnreadableData):
        raise InvalidAuditEntryError(f"entry {entry.seq}: its data is not JSON")
    fields = {
        "seq": entry.seq,
        "kind": entry.kind,
        "actor": entry.actor,
        "subject": entry.subject,
        "at": entry.at,
        "data": entry.data,
    }
    try:
        return canonicalize(fields)
    except CanonicalizationError as err:
        raise InvalidAuditEntryError(f"entry {entry.seq}: {err}") from err


def canonical_data(data: Mapping[str, Any] | UnreadableData) -> str:
    """The data's JCS text, as storage keeps it."""
    if isinstance(data, UnreadableData):
        raise InvalidAuditEntryError("audit data is not JSON")
    try:
        return canonicalize(data).decode("utf-8")
    except CanonicalizationError as err:
        raise InvalidAuditEntryError(f"audit data: {err}") from err


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    """h_n = sha256(h_{n-1} || canonical(entry_n)), as lowercase hex."""
    if not isinstance(prev_hash, str) or not _HASH.fullmatch(prev_hash):
        raise InvalidAuditEntryError(f"entry {entry.seq}: {prev_hash!r} is not a sha256 hash")
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(entry)).hexdigest()


def next_entry(
    head: Head, kind: str, actor: str, subject: str, data: Mapping[str, Any], at: datetime
) -> AuditEntry:
    """The entry that follows `head`, hashed."""
    for name, value in (("kind", kind), ("actor", actor), ("subject", subject)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidAuditEntryError(f"audit {name} {value!r} must be a non-empty string")
    if not isinstance(data, Mapping):
        raise InvalidAuditEntryError(f"audit data {data!r} must be a JSON object")
    entry = AuditEntry(
        head.seq + 1, kind, actor, subject, format_time(at), dict(data), head.hash, ""
    )
    return replace(entry, hash=chain_hash(head.hash, entry))


def _holds(entry: AuditEntry, seq: int | None = None) -> bool:
    """Does the entry's stored hash match its contents (read with `seq`, if given)?"""
    try:
        probe = entry if seq is None else replace(entry, seq=seq)
        return chain_hash(entry.prev_hash, probe) == entry.hash
    except InvalidAuditEntryError:
        return False


def _hashed_seq(entry: AuditEntry) -> int | None:
    """The seq the entry was hashed with, if it is its own or one near it (renumbered entries)."""
    for distance in range(_PROBE + 1):
        for seq in {entry.seq - distance, entry.seq + distance}:
            if seq >= 1 and _holds(entry, seq):
                return seq
    return None


# --- what a service records: who did what to which thing, never the claimant's facts ---------


class _Stored(Protocol):
    id: str
    claim_id: str
    organisation_id: str
    verification_method: str
    document: str


def claim_event(claim: Claim) -> Change:
    """The claim's latest event: kind, actor and states; not its details, evidence or reasons."""
    event = claim.events[-1]
    data = {
        "organisation": claim.details.organisation_id,
        "from": str(event.from_state) if event.from_state else None,
        "to": str(event.to_state),
    }
    return Change(str(event.kind), event.actor, f"claim:{claim.id}", data)


def link_reissued(claim: Claim) -> Change:
    data = {"organisation": claim.details.organisation_id}
    return Change("AttestationLinkReissued", SYSTEM, f"claim:{claim.id}", data)


def credential_issued(credential: _Stored) -> Change:
    """A stored credential, by id and the sha256 of the stored document; not its contents."""
    data = {
        "claim": credential.claim_id,
        "organisation": credential.organisation_id,
        "verification_method": credential.verification_method,
        "sha256": hashlib.sha256(credential.document.encode("utf-8")).hexdigest(),
    }
    return Change("CredentialIssued", SYSTEM, f"credential:{credential.id}", data)


def organisation_registered(org: Organisation, key_id: str) -> Change:
    data: dict[str, Any] = {
        "slug": org.slug,
        "name": org.name,
        "domain": org.domain,
        "signing_key": key_id,
    }
    if org.domain_verified_at is not None:  # the operator vouched for the domain out of band
        data["domain_verified"] = "operator"
    return Change("OrganisationRegistered", SYSTEM, f"organisation:{org.id}", data)


# --- verification ------------------------------------------------------------------------------


class DamageKind(StrEnum):
    CHANGED = "changed"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    HEAD_MISSING = "head_missing"


@dataclass(frozen=True)
class Damage:
    kind: DamageKind
    seq: int | None  # the first damaged position; None when no position can be named
    detail: str


@dataclass(frozen=True)
class AuditReport:
    entries: int  # how many were read
    head: Head  # the last entry read: write it down somewhere else to anchor the log
    damage: Damage | None

    @property
    def intact(self) -> bool:
        return self.damage is None

    def to_json(self) -> dict[str, Any]:
        damage = self.damage
        return {
            "intact": self.intact,
            "entries": self.entries,
            "head": {"seq": self.head.seq, "hash": self.head.hash},
            "damage": None
            if damage is None
            else {"kind": str(damage.kind), "seq": damage.seq, "detail": damage.detail},
        }


@dataclass
class _Break:
    """The first entry that does not follow, and what the rest of the log says about it."""

    entry: AuditEntry
    seq: int  # the position expected here
    last_good: str  # hash of the entry before it (GENESIS at the start)
    earlier: int | None  # an earlier good entry that it links to, skipping the ones between
    hashed_seq: int | None  # the seq its own hash holds for
    links_to: int | None = None  # a later entry that it links to
    successor: int | None = None  # a later entry that links to the last good one
    followers: int = 0

    def observe(self, entry: AuditEntry) -> None:
        self.followers += 1
        if self.links_to is None and entry.hash == self.entry.prev_hash:
            self.links_to = entry.seq
        if self.successor is None and entry.prev_hash == self.last_good:
            self.successor = entry.seq

    def damage(self) -> Damage:
        e, n = self.entry, self.seq
        if e.seq != n:
            if e.seq < n:
                return Damage(DamageKind.INSERTED, e.seq, f"a second entry claims seq {e.seq}")
            missing = f"entry {n}" if e.seq == n + 1 else f"entries {n} to {e.seq - 1}"
            return Damage(DamageKind.DELETED, n, f"{missing} missing: the log skips to {e.seq}")
        if e.prev_hash == self.last_good:
            return Damage(DamageKind.CHANGED, n, f"entry {n} does not match its hash: edited")
        if self.earlier is not None:
            first = self.earlier + 1
            return Damage(
                DamageKind.INSERTED,
                first,
                f"entry {n} links to entry {self.earlier}: entries {first} to {n - 1} were added",
            )
        if self.successor is not None or self.links_to is not None:
            where = (
                f"the entry that belongs here is stored at seq {self.successor}"
                if self.successor is not None
                else f"it belongs after the entry stored at seq {self.links_to}"
            )
            return Damage(DamageKind.REORDERED, n, f"entry {n} is out of order: {where}")
        return self._unlinked()

    def _unlinked(self) -> Damage:
        """It links to no entry in the log."""
        n, hashed = self.seq, self.hashed_seq
        if hashed is not None and hashed > n:
            return Damage(
                DamageKind.DELETED,
                n,
                f"entry {n} was hashed as entry {hashed}: entries before it were deleted "
                "and the rest renumbered",
            )
        if hashed == n and self.followers == 0:
            return Damage(DamageKind.INSERTED, n, f"entry {n} does not link to the log: added")
        if hashed == n and n > 1:
            return Damage(
                DamageKind.CHANGED,
                n - 1,
                f"entry {n - 1} was rewritten and rehashed: entry {n} no longer links to it",
            )
        return Damage(DamageKind.CHANGED, n, f"entry {n} matches neither its hash nor the log")


class ChainVerifier:
    """Checks entries fed in stored order (ascending seq), one pass, memory bounded."""

    def __init__(self, anchor: Anchor | None = None) -> None:
        self._anchor = anchor
        self._anchor_at: int | None = None
        self._good = self._last = START
        # Hashes of recent good entries -> seq; the genesis counts as entry 0.
        self._recent: OrderedDict[str, int] = OrderedDict({GENESIS: 0})
        self._break: _Break | None = None
        self._count = 0

    @property
    def last_seq(self) -> int:
        return self._last.seq

    def add(self, entry: AuditEntry) -> None:
        self._count += 1
        if self._anchor and entry.hash == self._anchor.hash:
            self._anchor_at = entry.seq
        if self._break is not None:
            self._break.observe(entry)
        elif (
            entry.seq == self._good.seq + 1 and entry.prev_hash == self._good.hash and _holds(entry)
        ):
            self._good = Head(entry.seq, entry.hash)
            self._recent[entry.hash] = entry.seq
            if len(self._recent) > _WINDOW:
                self._recent.popitem(last=False)
        else:
            earlier = (
                self._recent.get(entry.prev_hash) if entry.prev_hash != self._good.hash else None
            )
            self._break = _Break(
                entry, self._good.seq + 1, self._good.hash, earlier, _hashed_seq(entry)
            )
        self._last = Head(entry.seq, entry.hash)

    def report(self, head: Head | None = None, *, require_head: bool = False) -> AuditReport:
        """The verdict; `head` is the stored head to compare the end with (None: not compared)."""
        found = [
            d
            for d in (
                self._head_damage(head, require_head),
                self._break.damage() if self._break else None,
                self._anchor_damage(),
            )
            if d is not None
        ]
        # The earliest position wins; at a tie the head's verdict, which knows where the log ended.
        first = min(found, key=lambda d: d.seq if d.seq is not None else 1 << 62, default=None)
        return AuditReport(self._count, self._last, first)

    def _head_damage(self, head: Head | None, required: bool) -> Damage | None:
        last = self._last
        if head is None:
            detail = "the log's stored head is missing: nothing can be appended"
            return Damage(DamageKind.HEAD_MISSING, None, detail) if required else None
        if last.seq < head.seq:
            return Damage(
                DamageKind.TRUNCATED,
                last.seq + 1,
                f"the log ends at entry {last.seq} but its head records entry {head.seq}",
            )
        if last.seq > head.seq:
            return Damage(
                DamageKind.INSERTED,
                head.seq + 1,
                f"entries after {head.seq}, the recorded head, were added outside the log",
            )
        if last.hash != head.hash:
            detail = f"entry {head.seq} differs from the recorded head: rewritten up to there"
            return Damage(DamageKind.CHANGED, head.seq, detail)
        return None

    def _anchor_damage(self) -> Damage | None:
        anchor, last = self._anchor, self._last
        if anchor is None:
            return None
        if self._anchor_at is not None and anchor.seq in (None, self._anchor_at):
            return None
        if anchor.seq is None or last.seq < anchor.seq:
            return Damage(
                DamageKind.TRUNCATED,
                last.seq + 1,
                f"the anchored head {anchor.hash[:12]}… is not in the log (it ends at entry "
                f"{last.seq}): entries were cut from its end, or it was rewritten",
            )
        return Damage(
            DamageKind.CHANGED,
            anchor.seq,
            f"entry {anchor.seq} is not the anchored one: the log was rewritten up to there",
        )


def verify_chain(
    entries: Iterable[AuditEntry], head: Head | None = None, anchor: Anchor | None = None
) -> AuditReport:
    """Check a log given in stored order; compare its end with `head` and `anchor` if given."""
    verifier = ChainVerifier(anchor)
    for entry in entries:
        verifier.add(entry)
    return verifier.report(head)
