"""Reading a bundle's items: uploads accepted or refused with the reason, facts read as evidence."""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest

from rpl.bundle import BundleItem, BundleItemError, evidence_of, text_of_upload
from tests.credit.support import unsigned_badge


def _with_results(doc: dict) -> dict:
    achievement = doc["credentialSubject"]["achievement"]
    achievement["resultDescription"] = [
        {
            "id": "urn:rd:hours",
            "type": ["ResultDescription"],
            "name": "Hours completed",
            "resultType": "ext:Hours",
        },
        {
            "id": "urn:rd:level",
            "type": ["ResultDescription"],
            "name": "EQF level",
            "resultType": "ext:Level",
        },
    ]
    doc["credentialSubject"]["result"] = [
        {"type": ["Result"], "resultDescription": "urn:rd:hours", "value": "120"},
        {"type": ["Result"], "resultDescription": "urn:rd:level", "value": "5"},
    ]
    doc["credentialSubject"]["activityStartDate"] = "2024-01-01T00:00:00Z"
    doc["credentialSubject"]["activityEndDate"] = "2024-06-30T00:00:00Z"
    return doc


def test_evidence_reads_skills_hours_level_and_dates_from_an_ob3_credential() -> None:
    doc = _with_results(unsigned_badge("Youth work", ["urn:s:youth"], "2024-07-01T00:00:00Z"))
    evidence = evidence_of(BundleItem("item-1", "upload", "y.json", json.dumps(doc), verified=True))
    assert evidence.skills == {"urn:s:youth"}
    assert (evidence.hours, evidence.level) == (120.0, 5)
    assert (evidence.start, evidence.end) == (date(2024, 1, 1), date(2024, 6, 30))
    assert evidence.achievement_type == "Certificate" and evidence.verified
    assert "confirmed by Red Cross Training" in evidence.summary


def test_a_vc_jwt_is_read_from_its_payload_and_an_award_date_stands_for_recency() -> None:
    doc = unsigned_badge("BLS", ["urn:s:bls"], "2025-02-03T00:00:00Z")
    part = lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).rstrip(b"=").decode()  # noqa: E731
    token = f"{part({'alg': 'EdDSA'})}.{part(doc)}.c2ln"
    evidence = evidence_of(BundleItem("item-2", "paste", "pasted", token))
    assert evidence.end == date(2025, 2, 3) and evidence.start is None
    assert not evidence.verified and "unverified, said to be by" in evidence.summary


def test_uploads_that_are_no_credential_are_refused_with_the_reason() -> None:
    assert text_of_upload(b'  {"a": 1}\n', "c.json") == '{"a": 1}'
    with pytest.raises(BundleItemError, match="neither a JSON credential nor a VC-JWT"):
        text_of_upload(b"hello", "notes.txt")
    with pytest.raises(BundleItemError, match="empty"):
        text_of_upload(b"  ", "blank.json")
    with pytest.raises(BundleItemError, match="neither UTF-8 text nor a PNG/SVG"):
        text_of_upload(b"\xff\xfe\x00", "odd.bin")


def test_a_baked_badge_is_read_through_rpl_baking_or_refused_plainly() -> None:
    try:
        from rpl import baking  # helper G's module; the bundle says so plainly without it
    except ImportError:
        with pytest.raises(BundleItemError, match="baked PNG/SVG badges are not readable yet"):
            text_of_upload(b"\x89PNG\r\n\x1a\n....", "badge.png")
        return
    credential = json.dumps(unsigned_badge("BLS", ["urn:s:bls"], "2025-02-03T00:00:00Z"))
    svg = baking.bake_svg('<svg xmlns="http://www.w3.org/2000/svg"></svg>', credential)
    assert json.loads(text_of_upload(svg.encode(), "badge.svg")) == json.loads(credential)
    with pytest.raises(BundleItemError, match="badge.png"):
        text_of_upload(b"\x89PNG\r\n\x1a\nnot really a png", "badge.png")
