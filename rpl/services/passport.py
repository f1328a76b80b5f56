"""Use cases of the holder's passport: read it, write one's own words, share by link, publish.

Every record is private until its holder shares it. A share link shows the records chosen when it
was made, and only while it is neither revoked nor expired; the public profile shows the records
and notes the holder picked, and only while it is published. Who may call what is decided by the
web layer (a signed-in account acts on its own passport only); these functions also refuse records
that are not the account's, so a wrong id can never reach someone else's record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from rpl import passport as pp
from rpl.access import Actor, is_holder
from rpl.accounts import Account
from rpl.claims import Claim
from rpl.errors import RplError
from rpl.securing import secured_document
from rpl.services import inbox, records
from rpl.services.attestation import ClaimView
from rpl.services.ports import UowFactory
from rpl.storage.unit_of_work import DuplicateError, UnitOfWork, UnknownClaimError
from rpl.tokens import hash_token, new_token


class UnknownShareLinkError(RplError):
    """No share link has this secret (or it is not the account's)."""


class ShareLinkGoneError(RplError):
    """The share link was revoked by its holder, or has expired."""

    def __init__(self, state: pp.LinkState) -> None:
        self.state = state
        why = "its holder stopped sharing it" if state is pp.LinkState.REVOKED else "it expired"
        super().__init__(f"this link no longer works: {why}")


class UnknownProfileError(RplError):
    """No published profile has this address."""


@dataclass(frozen=True)
class Passport:
    account: Account
    records: tuple[pp.PassportRecord, ...]
    story: pp.Story
    profile: pp.Profile
    links: tuple[pp.ShareLink, ...]

    def grouped(self, by: pp.GroupBy) -> tuple[pp.Group, ...]:
        return pp.group_records(self.records, by)

    def skills(self) -> tuple[pp.SkillBacking, ...]:
        return pp.skill_summary(self.records)

    def visibility(self, now: datetime) -> dict[str, pp.Visibility]:
        return pp.visibility(self.records, self.links, self.profile, now)

    def record(self, claim_id: str) -> pp.PassportRecord | None:
        return next((r for r in self.records if r.claim_id == claim_id), None)


@dataclass(frozen=True)
class SharedRecord:
    """One record as others see it: the credential (what was attested) and, apart, the
    holder's note if they chose to show it."""

    credential: records.CredentialRecord
    note: pp.HolderNote | None


@dataclass(frozen=True)
class SharedView:
    holder_name: str
    story: pp.Story | None
    items: tuple[SharedRecord, ...]
    link: pp.ShareLink | None = None


def _record(view: ClaimView, note: pp.HolderNote) -> pp.PassportRecord:
    d = view.claim.details
    if view.credential is not None:
        skills = pp.skills_of_document(secured_document(view.credential.document))
    else:
        skills = pp.skills_of_claim(d.skills)
    return pp.PassportRecord(
        claim_id=view.claim.id,
        state=view.claim.state,
        kind=d.kind,
        role=d.role,
        organisation=view.organisation.name,
        start=d.start,
        end=d.end,
        credential_id=view.credential.id if view.credential else None,
        skills=skills,
        note=note,
    )


def get_passport(uow: UowFactory, account: Account) -> Passport:
    """Every claim and credential held by the account, with what it wrote and chose."""
    views = inbox.holder_claims(uow, account.email)
    with uow() as tx:
        notes = tx.passport.notes(account.id)
        story = tx.passport.story(account.id)
        profile = tx.passport.profile(account.id)
        links = tuple(tx.passport.links(account.id))
    found = tuple(_record(v, notes.get(v.claim.id, pp.HolderNote())) for v in views)
    return Passport(account, found, story, profile, links)


def _owned(tx: UnitOfWork, account: Account, claim_id: str) -> Claim | None:
    """The account's claim with this id; None for an unknown id or someone else's claim."""
    try:
        claim = tx.claims.get(claim_id)
    except UnknownClaimError:
        return None
    return claim if is_holder(Actor(account=account), claim) else None


def _own_claim(tx: UnitOfWork, account: Account, claim_id: str) -> Claim:
    claim = _owned(tx, account, claim_id)
    if claim is None:
        # Someone else's claim is, to this account, a claim that does not exist.
        raise UnknownClaimError(f"no claim with id {claim_id!r}")
    return claim


# --- the holder's own words ---------------------------------------------------------------------


def save_story(uow: UowFactory, account: Account, headline: str, story: str, now: datetime) -> None:
    checked = pp.check_story(headline, story)
    with uow() as tx:
        tx.passport.save_story(account.id, checked, now)
        tx.commit()


def save_note(
    uow: UowFactory, account: Account, claim_id: str, headline: str, notes: str, now: datetime
) -> None:
    with uow() as tx:
        _own_claim(tx, account, claim_id)  # before looking at the input: not theirs is not found
        checked = pp.check_note(headline, notes)
        tx.passport.save_note(account.id, claim_id, checked, now)
        tx.commit()


# --- share links ----------------------------------------------------------------------------------


def _shareable(uow: UowFactory, account: Account) -> list[str]:
    return [r.claim_id for r in get_passport(uow, account).records if r.shareable]


def create_share_link(
    uow: UowFactory,
    account: Account,
    claim_ids: list[str],
    days: str,
    label: str,
    include_notes: bool,
    now: datetime,
) -> tuple[str, str]:
    """A new link to the chosen records; returns (link id, secret). The secret is shown to the
    holder once: only its hash is kept."""
    request = pp.check_share(claim_ids, days, label, include_notes, _shareable(uow, account), now)
    link_id, secret = str(uuid.uuid4()), new_token()
    with uow() as tx:
        tx.passport.add_link(link_id, account.id, hash_token(secret), request, now)
        tx.audit.append(
            "ShareLinkCreated",
            f"holder:{account.email}",
            f"share-link:{link_id}",
            {"records": list(request.claim_ids), "expires_at": _iso(request.expires_at)},
            now,
        )
        tx.commit()
    return link_id, secret


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def revoke_share_link(uow: UowFactory, account: Account, link_id: str, now: datetime) -> None:
    with uow() as tx:
        if not tx.passport.revoke_link(account.id, link_id, now):
            raise UnknownShareLinkError(f"you have no share link with id {link_id!r}")
        tx.audit.append(
            "ShareLinkRevoked", f"holder:{account.email}", f"share-link:{link_id}", {}, now
        )
        tx.commit()


def live_share_link(uow: UowFactory, secret: str, now: datetime) -> pp.ShareLink:
    """The link behind `secret` if it still works; refused (gone) once revoked or expired."""
    with uow() as tx:
        link = tx.passport.link_by_token(hash_token(secret))
    if link is None:
        raise UnknownShareLinkError("no share link has this address")
    state = link.state(now)
    if state is not pp.LinkState.ACTIVE:
        raise ShareLinkGoneError(state)
    return link


def open_share_link(uow: UowFactory, secret: str, now: datetime) -> SharedView:
    """What a link shows, logging that it was opened (the time only)."""
    link = live_share_link(uow, secret, now)
    with uow() as tx:
        tx.passport.log_open(link.id, now)
        tx.commit()
    return _shared(uow, link.account_id, link.claim_ids, link.include_notes, None, link)


def shared_records(uow: UowFactory, secret: str, now: datetime) -> SharedView:
    """What a live link shows, without counting an opening (its PDF: the page was opened)."""
    link = live_share_link(uow, secret, now)
    return _shared(uow, link.account_id, link.claim_ids, link.include_notes, None, link)


def _shared(
    uow: UowFactory,
    account_id: str,
    claim_ids: tuple[str, ...],
    notes_for: bool | frozenset[str],
    story: pp.Story | None,
    link: pp.ShareLink | None = None,
) -> SharedView:
    """The chosen records that are still the account's and carry a credential, nothing else."""
    with uow() as tx:
        account = tx.accounts.get(account_id)
        if account is None:
            raise UnknownShareLinkError(f"no account with id {account_id!r}")
        notes = tx.passport.notes(account_id)
        chosen = []
        for claim_id in claim_ids:
            claim = _owned(tx, account, claim_id)
            credential = tx.credentials.by_claim(claim_id) if claim else None
            if claim is not None and credential is not None:
                chosen.append((claim, credential.id))
    if link is None:  # a profile reads like the passport: ongoing first, then newest first
        chosen.sort(key=lambda c: (c[0].details.end is None, c[0].details.start), reverse=True)
    items = []
    for claim, credential_id in chosen:
        shows = notes_for if isinstance(notes_for, bool) else claim.id in notes_for
        note = notes.get(claim.id) if shows else None
        items.append(
            SharedRecord(
                records.get_credential(uow, credential_id),
                note if note is not None and not note.empty else None,
            )
        )
    name = chosen[0][0].details.claimant_name if chosen else account.display_name
    return SharedView(name, story, tuple(items), link)


# --- the public profile ---------------------------------------------------------------------------


def save_profile(
    uow: UowFactory,
    account: Account,
    handle: str,
    published: bool,
    show_story: bool,
    chosen: list[str],
    notes_shown: list[str],
    now: datetime,
) -> pp.Profile:
    profile = _checked_profile(uow, account, handle, published, show_story, chosen, notes_shown)
    try:
        with uow() as tx:
            tx.passport.save_profile(account.id, profile, now)
            tx.audit.append(
                "ProfilePublished" if profile.published else "ProfileSaved",
                f"holder:{account.email}",
                f"account:{account.id}",
                {"handle": profile.handle, "records": [c.claim_id for c in profile.choices]},
                now,
            )
            tx.commit()
    except DuplicateError as err:  # two people took the same address at the same moment
        raise pp.InvalidPassportInputError({"handle": [_TAKEN]}) from err
    return profile


_TAKEN = "Someone else has this address already; choose another."


def _checked_profile(
    uow: UowFactory,
    account: Account,
    handle: str,
    published: bool,
    show_story: bool,
    chosen: list[str],
    notes_shown: list[str],
) -> pp.Profile:
    problems: dict[str, list[str]] = {}
    checked: str | None = None
    if handle.strip() or published:
        try:
            checked = pp.check_handle(handle)
        except pp.InvalidPassportInputError as err:
            problems["handle"] = list(err.problems["handle"])
    allowed = set(_shareable(uow, account))
    picked = tuple(dict.fromkeys(c for c in chosen if c))
    if any(c not in allowed for c in picked):
        problems["records"] = ["Only your own records that carry a credential can be published."]
    if checked and not problems:
        with uow() as tx:
            if tx.passport.handle_taken(checked, account.id):
                problems["handle"] = [_TAKEN]
    if problems:
        raise pp.InvalidPassportInputError(problems)
    shown = set(notes_shown)
    return pp.Profile(
        handle=checked,
        published=published,
        show_story=show_story,
        choices=tuple(pp.ProfileChoice(c, c in shown) for c in picked),
    )


def public_profile(uow: UowFactory, handle: str) -> SharedView:
    """A published profile: the chosen records, and the notes and story the holder chose to show."""
    with uow() as tx:
        account_id = tx.passport.account_by_handle(handle.strip().lower())
        if account_id is None:
            raise UnknownProfileError(f"nobody has published a profile at {handle!r}")
        profile = tx.passport.profile(account_id)
        story = tx.passport.story(account_id) if profile.show_story else None
    ids = tuple(c.claim_id for c in profile.choices)
    notes = frozenset(c.claim_id for c in profile.choices if c.show_note)
    return _shared(uow, account_id, ids, notes, story if story and not story.empty else None)
