"""Status lists against the real database: allocation, revoke/suspend/unsuspend, publish, verify."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from rpl import dids
from rpl.bootstrap import Container
from rpl.claims import ClaimState, IllegalTransitionError, InvalidClaimError
from rpl.config import Settings
from rpl.organisations import Attester, Organisation
from rpl.roster_bench import write_roster
from rpl.services import issuance, jobs, records, roster, roster_pipeline
from rpl.services import status as status_service
from rpl.services.organisations import RegisterOrganisation, register_organisation
from rpl.status import (
    FetchedStatusList,
    StatusListUnavailableError,
    decode_list,
    set_indexes,
)
from rpl.status_fetch import StatusListSource
from rpl.storage.status import StatusAllocationRow
from rpl.verify import VerificationResult
from tests.integration.test_issuance import confirmed_claims

ADMIN = "admin:admin-token"


BOTH = ("revocation", "suspension")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """These tests follow both lists: credentials here carry a revocation and a suspension entry."""
    return settings.with_(status_purposes=BOTH)


def issued(container: Container, org: Organisation, count: int = 1) -> list[str]:
    """Credential ids of `count` freshly issued claims."""
    ids = confirmed_claims(container, org, count)
    report = jobs.issue_batch(container, ids)
    assert sorted(report.issued) == sorted(ids), report
    with container.uow() as tx:
        return [tx.credentials.by_claim(i).id for i in ids]  # type: ignore[union-attr]


def document(container: Container, credential_id: str) -> dict[str, Any]:
    return records.get_credential(container.uow, credential_id).document


def verify(container: Container, credential: Any, **kwargs: Any) -> VerificationResult:
    lists = kwargs.get("status_lists", container.status_lists())
    return records.verify(container.resolver(), credential, container.now(), lists)


def counted_as_allocated(container: Container) -> dict[tuple[str, str], int]:
    """Each list's allocations, counted; asserts the count its row keeps says the same."""
    rows = StatusAllocationRow.__table__  # type: ignore[attr-defined]
    with container.uow() as tx:
        counted = {
            (org, purpose): n
            for org, purpose, n in tx.session.execute(
                select(rows.c.organisation_id, rows.c.purpose, func.count()).group_by(
                    rows.c.organisation_id, rows.c.purpose
                )
            )
        }
        kept = {key: tx.status.allocated(*key) for key in counted}
    assert kept == counted
    return counted


def status_checks(result: VerificationResult) -> list[tuple[bool, str]]:
    return [(c.passed, c.detail) for c in result.checks if c.name == "status"]


def change(container: Container, credential_id: str, action: str, reason: str = "why") -> Any:
    return status_service.change_status(
        container.status_publisher(), credential_id, action, ADMIN, reason, container.now()
    )


def test_an_issued_credential_carries_a_revocation_and_a_suspension_entry(
    container: Container, hospital: Organisation
) -> None:
    [cid] = issued(container, hospital)
    entries = document(container, cid)["credentialStatus"]
    assert [e["statusPurpose"] for e in entries] == ["revocation", "suspension"]
    assert [e["statusListCredential"] for e in entries] == [
        "http://testserver/orgs/st-marys/status/revocation",
        "http://testserver/orgs/st-marys/status/suspension",
    ]
    with container.uow() as tx:
        stored = tx.status.for_credential(cid)
    assert stored == {e["statusPurpose"]: int(e["statusListIndex"]) for e in entries}


def test_a_fresh_credential_verifies_with_its_status_checked(
    container: Container, hospital: Organisation
) -> None:
    [cid] = issued(container, hospital)
    result = verify(container, document(container, cid))
    assert result.verified, result.errors
    assert [passed for passed, _ in status_checks(result)] == [True, True]
    assert "not revoked" in status_checks(result)[0][1]


def test_issue_revoke_verify_is_revoked(container: Container, hospital: Organisation) -> None:
    [cid] = issued(container, hospital)
    claim = change(container, cid, "revoke", "issued to the wrong person")
    result = verify(container, document(container, cid))
    assert claim.state is ClaimState.REVOKED
    assert claim.events[-1].reason == "issued to the wrong person"
    assert not result.verified
    assert status_checks(result)[0][0] is False and status_checks(result)[0][1].startswith(
        "revoked"
    )
    assert status_checks(result)[1][0] is True
    with container.uow() as tx:
        [entry] = [e for e in tx.audit.last(5) if e.kind == "CredentialRevoked"]
    assert (entry.subject, entry.actor) == (f"credential:{cid}", ADMIN)
    assert entry.data["reason"] == "issued to the wrong person"


def test_suspend_and_unsuspend_round_trip(container: Container, hospital: Organisation) -> None:
    [cid, other] = issued(container, hospital, 2)
    change(container, cid, "suspend", "under review")
    suspended = verify(container, document(container, cid))
    assert not suspended.verified
    assert status_checks(suspended)[1][1].startswith("suspended")
    assert verify(container, document(container, other)).verified
    claim = change(container, cid, "unsuspend", "review found nothing wrong")
    assert claim.state is ClaimState.ISSUED
    assert verify(container, document(container, cid)).verified
    kinds = [(e.kind.value, e.reason) for e in claim.events[-2:]]
    assert kinds == [
        ("CredentialSuspended", "under review"),
        ("CredentialReinstated", "review found nothing wrong"),
    ]


def test_a_status_change_needs_a_reason_and_a_state_that_allows_it(
    container: Container, hospital: Organisation
) -> None:
    [cid] = issued(container, hospital)
    with pytest.raises(InvalidClaimError):
        change(container, cid, "revoke", "  ")
    with pytest.raises(IllegalTransitionError):
        change(container, cid, "unsuspend", "was never suspended")
    change(container, cid, "revoke", "fraud")
    with pytest.raises(IllegalTransitionError):
        change(container, cid, "suspend", "too late")


def test_an_unreachable_list_leaves_the_status_unknown_and_the_credential_unverified(
    container: Container, hospital: Organisation
) -> None:
    [cid] = issued(container, hospital)

    def unreachable(url: str) -> FetchedStatusList:
        raise StatusListUnavailableError(f"could not fetch {url}: connection refused")

    for lists in (StatusListSource(fetch_remote=unreachable), StatusListSource(), None):
        result = verify(container, document(container, cid), status_lists=lists)
        assert not result.verified
        details = [detail for passed, detail in status_checks(result) if not passed]
        assert len(details) == 2 and all(d.startswith("status unknown: ") for d in details)
        assert not any(d.startswith("status unknown: not revoked") for d in details)
    result = verify(container, document(container, cid), status_lists=StatusListSource(unreachable))
    assert "connection refused" in status_checks(result)[0][1]


def _serving(container: Container, change_list: Any) -> StatusListSource:
    """Our lists, changed on the way by `change_list(document)`."""
    ours = container.status_lists()

    def fetch(url: str) -> FetchedStatusList:
        fetched = ours(url)
        changed = copy.deepcopy(fetched.document)
        change_list(changed)
        return FetchedStatusList(changed, fetched.fetched_at)

    return StatusListSource(fetch)


def test_a_tampered_list_is_not_trusted(container: Container, hospital: Organisation) -> None:
    [cid] = issued(container, hospital)
    change(container, cid, "revoke", "fraud")

    def unrevoke(doc: dict[str, Any]) -> None:
        doc["credentialSubject"]["encodedList"] = (
            "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
        )

    result = verify(container, document(container, cid), status_lists=_serving(container, unrevoke))
    assert not result.verified
    assert "did not verify" in status_checks(result)[0][1]


def test_a_list_of_another_issuer_or_purpose_is_not_trusted(
    container: Container, hospital: Organisation
) -> None:
    [cid] = issued(container, hospital)
    credential = document(container, cid)
    swapped = copy.deepcopy(credential)
    swapped["credentialStatus"][0]["statusListCredential"] = credential["credentialStatus"][1][
        "statusListCredential"
    ]
    result = verify(container, swapped)  # the proof breaks too; the status check says why as well
    assert "serves 'suspension', not 'revocation'" in status_checks(result)[0][1]
    other = register_organisation(
        container.uow,
        container.master_key,
        RegisterOrganisation(
            name="Harbour Food Bank",
            domain="harbour.example",
            url="https://harbour.example",
            attesters=(Attester("coordinator@stmarys.example", "Coordinator"),),
            domain_verified=True,
        ),
        container.now(),
    )
    [foreign] = issued(container, other)
    moved = document(container, foreign)["credentialStatus"][0]["statusListCredential"]

    def pointing_elsewhere(url: str) -> FetchedStatusList:
        return container.status_lists()(moved)

    result = verify(container, credential, status_lists=StatusListSource(pointing_elsewhere))
    assert "whose id is" in status_checks(result)[0][1]


def test_a_cached_copy_older_than_its_ttl_is_not_used(
    container: Container, hospital: Organisation
) -> None:
    [cid] = issued(container, hospital)
    ours = container.status_lists()
    old = container.now() - status_service.LIST_TTL - timedelta(seconds=5)
    stale = StatusListSource(lambda url: FetchedStatusList(ours(url).document, old))
    fresh = StatusListSource(lambda url: FetchedStatusList(ours(url).document, container.now()))
    result = verify(container, document(container, cid), status_lists=stale)
    assert not result.verified and "older than its ttl" in status_checks(result)[0][1]
    assert verify(container, document(container, cid), status_lists=fresh).verified


def test_the_published_list_is_signed_and_holds_exactly_the_revoked_indexes(
    container: Container, hospital: Organisation
) -> None:
    cids = issued(container, hospital, 4)
    for cid in cids[:2]:
        change(container, cid, "revoke", "withdrawn")
    published = status_service.current_status_list(
        container.status_publisher(), "st-marys", "revocation", container.now()
    )
    doc = json.loads(published.document)
    assert doc["proof"]["verificationMethod"].startswith(
        dids.did_web_for("http://testserver", "orgs", "st-marys")
    )
    with container.uow() as tx:
        revoked = sorted(tx.status.for_credential(c)["revocation"] for c in cids[:2])
    assert set_indexes(decode_list(doc["credentialSubject"]["encodedList"])) == revoked
    again = status_service.current_status_list(
        container.status_publisher(), "st-marys", "revocation", container.now()
    )
    assert again.document == published.document  # not re-signed while current


def test_concurrent_issuance_never_shares_an_index(
    container: Container, hospital: Organisation
) -> None:
    batches = [confirmed_claims(container, hospital, 6)[i::3] for i in range(3)]
    errors: list[BaseException] = []

    def run(ids: list[str]) -> None:
        try:
            jobs.issue_batch(container, ids)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with container.uow() as tx:
        credentials = [tx.credentials.by_claim(c) for b in batches for c in b]
        indexes = [tx.status.for_credential(c.id) for c in credentials if c]
    assert len(indexes) == 6
    for purpose in ("revocation", "suspension"):
        assert len({i[purpose] for i in indexes}) == 6
    assert counted_as_allocated(container) == {(hospital.id, p): 6 for p in BOTH}


def test_an_index_taken_between_signing_and_storing_is_drawn_again_and_none_leaks(
    container: Container, hospital: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs draw the same free index; the second to store signs its credential again."""
    monkeypatch.setattr(
        status_service.StatusAllocator, "__init__", _seeded_allocator_init, raising=True
    )
    first_id, second_id = confirmed_claims(container, hospital, 2)
    urls, keyring, suite, now = (
        jobs.urls(container),
        jobs.keyring(container),
        issuance.IssuePolicy(container.settings.cryptosuite, BOTH),
        container.now(),
    )
    report = issuance.IssueReport()
    [first] = issuance._prepare(container.uow, keyring, urls, suite, [first_id], now, report)
    [second] = issuance._prepare(container.uow, keyring, urls, suite, [second_id], now, report)
    assert first.status == tuple(
        status_service.Allocation(a.organisation_id, a.purpose, a.index) for a in second.status
    )  # the same seed drew the same indexes
    issuance._store(container.uow, [first], now)
    stored = issuance._store_alone(container.uow, keyring, urls, suite, second, now, report)
    assert stored is not None and report.issued == [second_id]
    assert stored.credential.id != second.credential.id
    with container.uow() as tx:
        rows = {c: tx.status.for_credential(c) for c in (first.credential.id, stored.credential.id)}
        assert tx.credentials.get(second.credential.id) is None
    assert rows[first.credential.id] != rows[stored.credential.id]
    signed = json.loads(stored.credential.document)["credentialStatus"]
    assert {e["statusPurpose"]: int(e["statusListIndex"]) for e in signed} == rows[
        stored.credential.id
    ]
    # The attempt that found its index taken rolled back its count with its rows.
    assert counted_as_allocated(container) == {(hospital.id, p): 2 for p in BOTH}


def _seeded_allocator_init(
    self: Any, public_url: str, purposes: tuple[str, ...] = BOTH, rng: Any = None
) -> None:
    self.public_url = public_url
    self.purposes = purposes
    self.rng = random.Random(1234)
    self._drawn = {}
    self._stored = {}


def test_every_allocating_path_counts_its_lists_in_the_configured_order(
    container: Container, hospital: Organisation, tmp_path: Any
) -> None:
    """The count rows stay locked until commit: one credential at a time or a page, each path
    takes them in `RPL_STATUS_PURPOSES` order, so two of them never wait on each other in a
    cycle (PostgreSQL would abort one as a deadlock)."""
    order = ("suspension", "revocation")
    c = dataclasses.replace(container, settings=container.settings.with_(status_purposes=order))
    counted: list[str] = []  # each list's count row, in the order they were written

    def seen(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: Any) -> None:
        if sql.startswith("INSERT INTO status_list") and "ON CONFLICT" in sql:
            values = params.values() if isinstance(params, dict) else params
            counted.extend(v for v in values if v in order)

    event.listen(c.engine, "before_cursor_execute", seen)
    try:
        issued(c, hospital, 1)  # one at a time: a count an allocation
        assert counted == list(order)
        counted.clear()
        path = tmp_path / "roster.csv"
        write_roster(path, 5, bad_every=0)
        request = roster.ImportRequest(path.name, "operator:test", direct=True)
        roster_pipeline.import_and_issue(c, hospital.slug, path, request)  # a page at once
        assert counted == list(order)
    finally:
        event.remove(c.engine, "before_cursor_execute", seen)
    assert counted_as_allocated(c) == {(hospital.id, p): 6 for p in order}
