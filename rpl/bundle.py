"""A returning student's bundle: the records they bring, each verified, each read as evidence.

An item is what the student gave — a credential held here, an uploaded JSON credential, a VC-JWT,
a baked PNG/SVG badge, or pasted text — kept as given. Verification (`rpl.verify`) never removes an
item: one that does not verify stays, marked with the reason, and an assessor may still weigh it as
unverified evidence. `evidence_of` reads the facts the crosswalk rules look at.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from rpl.crosswalk import Evidence
from rpl.errors import RplError
from rpl.jsonio import loads_strict
from rpl.proofs.jose import compact_jws_in
from rpl.verify import VerificationResult, issuer_id, parse_datetime

MAX_ITEMS = 50
_PNG = b"\x89PNG\r\n\x1a\n"


class BundleItemError(RplError):
    """Something given for a bundle that is not a credential at all; names what it is."""


@dataclass(frozen=True)
class BundleItem:
    id: str  # "item-1", "item-2", … in the order given
    source: str  # "rpl" (held here), "upload" or "paste"
    label: str  # file name, or the credential id held here
    raw: str  # JSON text or compact JWS, exactly as given (after un-baking)
    verified: bool = False
    checks: tuple[dict[str, Any], ...] = ()
    reason: str = "not verified yet"

    @property
    def format(self) -> str:
        return "jwt" if compact_jws_in(self.raw) is not None else "json"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "label": self.label,
            "raw": self.raw,
            "verified": self.verified,
            "checks": list(self.checks),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> BundleItem:
        return cls(**{**value, "checks": tuple(value.get("checks", ()))})


def text_of_upload(data: bytes, filename: str = "") -> str:
    """The credential inside an upload: JSON or JWT text as is; a baked PNG or SVG un-baked."""
    if (
        data.startswith(_PNG)
        or data.lstrip()[:5] in (b"<?xml", b"<svg ")
        or filename.lower().endswith((".png", ".svg"))
    ):
        return _unbake(data, filename)
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError as err:
        raise BundleItemError(
            f"{filename or 'the upload'} is neither UTF-8 text nor a PNG/SVG badge"
        ) from err
    if not text:
        raise BundleItemError(f"{filename or 'the item'} is empty")
    if compact_jws_in(text) is None and not text.startswith("{"):
        raise BundleItemError(f"{filename or 'the item'} is neither a JSON credential nor a VC-JWT")
    return text


def _unbake(data: bytes, filename: str) -> str:
    try:
        from rpl import baking
    except ImportError as err:  # baking lands separately; until then say so plainly
        raise BundleItemError(
            f"{filename or 'the image'}: baked PNG/SVG badges are not readable yet; "
            "upload the credential's JSON or JWT instead"
        ) from err
    try:
        return str(baking.unbake(data)).strip()
    except RplError as err:
        raise BundleItemError(f"{filename or 'the image'}: {err}") from err


def with_verification(item: BundleItem, result: VerificationResult) -> BundleItem:
    checks = tuple({"check": c.name, "passed": c.passed, "detail": c.detail} for c in result.checks)
    reason = "verified" if result.verified else "; ".join(result.errors) or "not verified"
    return BundleItem(item.id, item.source, item.label, item.raw, result.verified, checks, reason)


# --- reading a credential -------------------------------------------------------------------------


def document_of(raw: str) -> dict[str, Any] | None:
    """The credential an item carries, read without trusting it (a JWT's payload unverified)."""
    token = compact_jws_in(raw)
    try:
        if token is None:
            value = loads_strict(raw)
        else:
            payload = token.split(".")[1]
            value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (RplError, ValueError, IndexError):
        return None
    if isinstance(value, dict) and isinstance(value.get("vc"), dict):  # VC-JWT 1.1 shape
        value = value["vc"]
    return value if isinstance(value, dict) else None


def _subject(doc: Mapping[str, Any]) -> dict[str, Any]:
    subject = doc.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else {}
    return subject if isinstance(subject, dict) else {}


def _day(value: Any) -> date | None:
    try:
        return parse_datetime(value).date()
    except (ValueError, TypeError):
        return None


def _results(subject: Mapping[str, Any], achievement: Mapping[str, Any]) -> dict[str, float]:
    """Numeric results keyed 'hours' or 'level', from OB 3.0 Result + ResultDescription pairs."""
    descriptions = {
        d.get("id"): d for d in achievement.get("resultDescription") or [] if isinstance(d, dict)
    }
    found: dict[str, float] = {}
    for result in subject.get("result") or []:
        if not isinstance(result, dict):
            continue
        described = descriptions.get(result.get("resultDescription"), {})
        words = f"{described.get('resultType', '')} {described.get('name', '')}".lower()
        for key in ("hours", "level"):
            if key.rstrip("s") in words:
                with contextlib.suppress(ValueError):
                    found[key] = float(result.get("value", ""))
    return found


def _skills(achievement: Mapping[str, Any]) -> frozenset[str]:
    found = set()
    for alignment in achievement.get("alignment") or []:
        if isinstance(alignment, dict):
            for key in ("targetUrl", "targetCode"):
                if isinstance(alignment.get(key), str) and alignment[key].strip():
                    found.add(alignment[key].strip())
    return frozenset(found)


def _words(kind: str | None) -> str:
    return (kind or "credential").removeprefix("ext:").lower()


def evidence_of(item: BundleItem) -> Evidence:
    """The facts of an item the crosswalk rules read; an unreadable item is evidence of nothing."""
    doc = document_of(item.raw) or {}
    subject = _subject(doc)
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    issuer = doc.get("issuer")
    issuer_name = issuer.get("name", "") if isinstance(issuer, dict) else ""
    results = _results(subject, achievement)
    start = _day(subject.get("activityStartDate"))
    end = _day(subject.get("activityEndDate")) or _day(doc.get("awardedDate"))
    if end is None and start is None:
        end = _day(doc.get("validFrom")) or _day(doc.get("issuanceDate"))
    name = achievement.get("name") or doc.get("name") or item.label
    evidence = Evidence(
        id=item.id,
        name=str(name),
        issuer=issuer_id(doc) or "unknown issuer",
        issuer_name=str(issuer_name),
        verified=item.verified,
        achievement_id=achievement.get("id") if isinstance(achievement.get("id"), str) else None,
        achievement_type=achievement.get("achievementType"),
        skills=_skills(achievement),
        hours=results.get("hours"),
        level=int(results["level"]) if "level" in results else None,
        start=start,
        end=end,
    )
    return _summarised(evidence, subject)


def _summarised(evidence: Evidence, subject: Mapping[str, Any]) -> Evidence:
    parts = [_words(evidence.achievement_type)]
    if evidence.years is not None and evidence.years >= 1:
        parts.append(f"{evidence.years:.0f} years")
    if evidence.hours is not None:
        parts.append(f"{evidence.hours:g} hours")
    who = evidence.issuer_name or evidence.issuer
    parts.append(f"{'confirmed' if evidence.verified else 'unverified, said to be'} by {who}")
    role = subject.get("role")
    if isinstance(role, str) and role.strip():
        parts.insert(1, role.strip())
    return Evidence(**{**evidence.__dict__, "summary": ", ".join(parts)})
