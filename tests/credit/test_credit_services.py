"""The credit workflow through its services on the real database: bundle → proposal → assessor →
credentials and a CLR 2.0 transcript, every step recorded."""

from __future__ import annotations

import json

import pytest

from rpl import clr, schema
from rpl.bootstrap import Container
from rpl.claims import Skill
from rpl.credit import Adjustment, CreditState, IllegalCreditTransitionError, InvalidAdjustmentError
from rpl.organisations import Organisation
from rpl.services import credit, credit_jobs
from rpl.services import status as status_service
from rpl.storage.credit import CrosswalkVersionConflictError
from tests.credit.support import (
    ASSESSOR,
    ISCO_CARE,
    OtherIssuer,
    institution,
    issued_here,
    sample_crosswalk,
    unsigned_badge,
)

BLS = "urn:northfield:skill:basic-life-support"
SAFETY = "urn:northfield:skill:patient-safety"


@pytest.fixture
def northfield(container: Container) -> Organisation:
    return institution(container)


def _bundle(container: Container, hospital: Organisation) -> tuple[str, str]:
    nurse = issued_here(container, hospital)
    carer = issued_here(
        container,
        hospital,
        role="Care assistant",
        start="2021-01",
        end="2023-12",
        skills=(Skill("personal care", "ESCO", ISCO_CARE),),
    )
    other = OtherIssuer()
    now = container.now()
    bls = other.sign(unsigned_badge("Basic Life Support", [BLS], "2025-06-01T00:00:00Z", n=1), now)
    safety = other.sign(
        unsigned_badge("Patient Safety", [SAFETY], "2025-09-01T00:00:00Z", n=2), now
    )
    tampered = json.loads(
        other.sign(
            unsigned_badge(
                "Mentoring", ["urn:northfield:skill:mentoring"], "2025-01-01T00:00:00Z", n=3
            ),
            now,
        )
    )
    tampered["credentialSubject"]["achievement"]["name"] = "Mentoring (advanced)"
    command = credit.SubmitBundle(
        crosswalk_id="bsc-nursing",
        learner_name="Margaret Okafor",
        learner_email="margaret@example.net",
        held=(nurse, f"http://testserver/credentials/{carer}"),
        external=(
            ("upload", "bls.json", bls.encode()),
            ("upload", "safety.json", safety.encode()),
            ("paste", "pasted", json.dumps(tampered).encode()),
        ),
    )
    return credit.submit_bundle(container.uow, command, container.now())


def test_a_bundle_is_evaluated_rule_by_rule_and_waits_for_an_assessor(
    container: Container, hospital: Organisation, northfield: Organisation
) -> None:
    request_id, token = _bundle(container, hospital)
    assert credit_jobs.evaluate_credit(container, request_id)
    assert not credit_jobs.evaluate_credit(container, request_id)  # a retry changes nothing
    view = credit.credit_for_holder(container.uow, token)
    assert view.request.state is CreditState.AWAITING_ASSESSOR
    assert [i.verified for i in view.items] == [True, True, True, True, False]
    assert "proof" in view.items[4].reason
    granted = {g.course: g for g in view.proposal.grants}  # type: ignore[union-attr]
    assert sorted(granted) == ["NURS-101", "NURS-102", "NURS-110"]
    assert granted["NURS-101"].evidence_ids == ("item-1",)
    assert "rule N1 of bsc-nursing v1" in granted["NURS-101"].because
    assert "Registered Nurse" in granted["NURS-101"].because
    assert granted["NURS-110"].evidence_ids == ("item-3", "item-4")
    gaps = {g.course: g for g in view.proposal.gaps}  # type: ignore[union-attr]
    assert "“Mentoring (advanced)” is unverified" in gaps["NURS-120"].reasons[0]
    # recency: the nursing years ended in 2020, more than the 5 years rule N3 allows
    assert "more than 5 years before" in gaps["NURS-201"].reasons[0]


def test_the_assessor_adjusts_accepts_and_a_clr_transcript_is_issued(
    container: Container, hospital: Organisation, northfield: Organisation
) -> None:
    request_id, token = _bundle(container, hospital)
    credit_jobs.evaluate_credit(container, request_id)
    with pytest.raises(InvalidAdjustmentError):
        credit.adjust_credit(
            container.uow, request_id, Adjustment("add", "NURS-120", ""), ASSESSOR, container.now()
        )
    credit.adjust_credit(
        container.uow,
        request_id,
        Adjustment("add", "NURS-120", "mentoring seen in the portfolio interview", 10, ("item-5",)),
        ASSESSOR,
        container.now(),
    )
    credit.adjust_credit(
        container.uow,
        request_id,
        Adjustment("remove", "NURS-102", "placement hours not supervised"),
        ASSESSOR,
        container.now(),
    )
    with pytest.raises(IllegalCreditTransitionError):
        credit_jobs.issue_credit(container, request_id)
    credit.decide_credit(container.uow, request_id, True, ASSESSOR, "", container.now())
    assert credit_jobs.issue_credit(container, request_id)
    assert not credit_jobs.issue_credit(container, request_id)  # exactly once
    view = credit.credit_for_holder(container.uow, token)
    assert view.request.state is CreditState.ISSUED
    assert sorted(course for course, _, _ in view.awards) == ["NURS-101", "NURS-110", "NURS-120"]
    transcript = json.loads(view.request.transcript or "")
    assert clr.validate_clr(transcript) == []
    outer, inner = clr.verify_transcript(
        transcript, container.resolver(), container.now(), container.status_lists()
    )
    assert outer.verified, outer.errors
    assert all(r.verified for r in inner), [r.errors for r in inner]
    subject = transcript["credentialSubject"]
    # 3 course credentials + the verified, embedded sources (2 here, 2 badges)
    assert len(subject["verifiableCredential"]) == 3 + 3
    targets = {a["targetId"].rsplit("/", 1)[1] for a in subject["association"]}
    assert targets == {"NURS-101", "NURS-110", "NURS-120"}
    for _, _, document in view.awards:
        award = json.loads(document)
        assert schema.validate_achievement_credential(award) == []
        assert award["credentialSubject"]["creditsEarned"] in (20, 10)
        assert award["credentialSubject"]["result"][0]["status"] == "Completed"
    kinds = [e.kind for e in view.request.events]
    assert kinds == [
        "CreditRequested",
        "CreditProposed",
        "CreditAdjusted",
        "CreditAdjusted",
        "CreditAccepted",
        "CreditIssued",
    ]


def test_a_revoked_record_held_here_does_not_count(
    container: Container, hospital: Organisation, northfield: Organisation
) -> None:
    nurse = issued_here(container, hospital)
    status_service.change_status(
        container.status_publisher(), nurse, "revoke", ASSESSOR, "error", container.now()
    )
    request_id, token = credit.submit_bundle(
        container.uow,
        credit.SubmitBundle("bsc-nursing", "M O", "m@example.net", held=(nurse,)),
        container.now(),
    )
    jobs_ok = credit_jobs.evaluate_credit(container, request_id)
    view = credit.credit_for_holder(container.uow, token)
    assert jobs_ok and not view.items[0].verified
    assert "revoked" in view.items[0].reason
    assert view.proposal is not None and view.proposal.grants == ()


def test_a_published_crosswalk_version_never_changes(
    container: Container, northfield: Organisation
) -> None:
    same = sample_crosswalk("nursing")
    assert not credit.publish_crosswalk(
        container.uow, northfield.id, same, ASSESSOR, container.now()
    )
    changed = type(same)(**{**same.__dict__, "title": "Changed"})
    with pytest.raises(CrosswalkVersionConflictError):
        credit.publish_crosswalk(container.uow, northfield.id, changed, ASSESSOR, container.now())
    newer = type(same)(**{**same.__dict__, "title": "Changed", "version": 2})
    assert credit.publish_crosswalk(container.uow, northfield.id, newer, ASSESSOR, container.now())


def test_a_bundle_with_nothing_usable_is_refused_with_reasons(
    container: Container, northfield: Organisation
) -> None:
    with pytest.raises(credit.InvalidBundleError) as caught:
        credit.submit_bundle(
            container.uow,
            credit.SubmitBundle(
                "bsc-nursing",
                "",
                "nobody",
                held=("no-such-id",),
                external=(("upload", "x.txt", b"hello"),),
            ),
            container.now(),
        )
    assert set(caught.value.problems) == {"learner_name", "learner_email", "held", "files"}
