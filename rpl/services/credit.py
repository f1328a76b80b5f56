"""Use cases of the credit workflow: publish a crosswalk, submit a bundle, evaluate it, decide.

Issuing the result is in `rpl.services.credit_issue`. Each use case takes what it needs (a unit
of work factory, a resolver, `now`) and is idempotent where a flow may retry it: evaluating a
request that is no longer `submitted` does nothing.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rpl import bundle, crosswalk_io
from rpl.bundle import BundleItem, BundleItemError
from rpl.credit import (
    Adjustment,
    CreditAction,
    CreditEvent,
    CreditRequest,
    CreditState,
    check_adjustment,
    next_state,
)
from rpl.crosswalk import Crosswalk, from_json, to_json
from rpl.crosswalk_rules import Proposal, evaluate
from rpl.dids import DidResolver
from rpl.errors import RplError
from rpl.services.ports import UowFactory
from rpl.status import StatusListFetcher
from rpl.storage.credit import StoredCrosswalk, UnknownCreditRequestError
from rpl.tokens import hash_token, new_token
from rpl.verify import verify_credential

SYSTEM = "system"


class InvalidBundleError(RplError):
    """A bundle that cannot be submitted; `problems` maps form fields to messages."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__(next(iter(problems.values()))[0])
        self.problems = problems


class UnknownCrosswalkError(RplError):
    """No published crosswalk has this id (and version)."""


# --- crosswalks ---------------------------------------------------------------------------------


def publish_crosswalk(
    uow: UowFactory, organisation_id: str, crosswalk: Crosswalk, actor: str, now: datetime
) -> bool:
    """Publish a crosswalk version for an organisation; False if that exact version was there.

    Raises `CrosswalkVersionConflictError` for new content under a published version.
    """
    stored = StoredCrosswalk(
        crosswalk.id,
        crosswalk.version,
        organisation_id,
        crosswalk.digest,
        json.dumps(to_json(crosswalk), ensure_ascii=False),
        now,
    )
    with uow() as tx:
        tx.orgs.get(organisation_id)
        added = tx.credit.publish_crosswalk(stored)
        if added:
            data = {"organisation": organisation_id, "digest": crosswalk.digest}
            tx.audit.append("CrosswalkPublished", actor, f"crosswalk:{crosswalk.label}", data, now)
        tx.commit()
    return added


def load_crosswalk(tx: Any, crosswalk_id: str, version: int | None = None) -> Crosswalk:
    stored = tx.credit.crosswalk(crosswalk_id, version)
    if stored is None:
        at = f" v{version}" if version is not None else ""
        raise UnknownCrosswalkError(f"no published crosswalk {crosswalk_id!r}{at}")
    crosswalk = from_json(json.loads(stored.document))
    if crosswalk.digest != stored.digest:  # the database was changed behind our back
        raise UnknownCrosswalkError(f"crosswalk {crosswalk.label} does not match its digest")
    return crosswalk


def export_crosswalk(uow: UowFactory, crosswalk_id: str, version: int | None, fmt: str) -> str:
    with uow() as tx:
        crosswalk = load_crosswalk(tx, crosswalk_id, version)
    return crosswalk_io.write_csv(crosswalk) if fmt == "csv" else crosswalk_io.write_json(crosswalk)


# --- submitting a bundle ------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitBundle:
    crosswalk_id: str
    learner_name: str
    learner_email: str
    held: tuple[str, ...] = ()  # credential ids or /my/<token> links of records held here
    external: tuple[tuple[str, str, bytes], ...] = ()  # (source, label, content) uploads/pastes
    learner_did: str | None = None
    # The signed-in account submitting it (its address): the request is then the account's, and
    # `chosen` may name credentials issued on that account's claims.
    holder_email: str | None = None
    chosen: tuple[str, ...] = ()  # credential ids the account picked from its own records


def _held_item(tx: Any, ref: str, position: int) -> BundleItem:
    """A record held here, named by its credential URL/id or by the holder's /my/<token> link."""
    ref = ref.strip().rstrip("/")
    if "/my/" in ref:
        claim = tx.claims.by_token(hash_token(ref.rsplit("/my/", 1)[1]))
        credential_id = claim.credential_id or ""
    else:
        credential_id = ref.rsplit("/credentials/", 1)[-1].removesuffix(".json")
    stored = tx.credentials.get(credential_id) if credential_id else None
    if stored is None:
        raise BundleItemError(f"{ref!r} is not a credential held here")
    name = json.loads(stored.document).get("name") or stored.id
    return BundleItem(f"item-{position}", "rpl", str(name), stored.document)


def _own_item(tx: Any, credential_id: str, email: str | None, position: int) -> BundleItem:
    """A credential the account picked from its records: issued on a claim filed with its address."""
    stored = tx.credentials.get(credential_id)
    claim = tx.claims.get(stored.claim_id) if stored is not None else None
    if claim is None or email is None or claim.details.claimant_email.strip().lower() != email:
        raise BundleItemError(f"{credential_id!r} is not one of your records")
    name = json.loads(stored.document).get("name") or stored.id
    return BundleItem(f"item-{position}", "rpl", str(name), stored.document)


def _items(tx: Any, command: SubmitBundle) -> tuple[list[BundleItem], dict[str, list[str]]]:
    items: list[BundleItem] = []
    problems: dict[str, list[str]] = {}
    for credential_id in dict.fromkeys(command.chosen):
        try:
            items.append(_own_item(tx, credential_id, command.holder_email, len(items) + 1))
        except RplError as err:
            problems.setdefault("chosen", []).append(str(err))
    for ref in command.held:
        try:
            items.append(_held_item(tx, ref, len(items) + 1))
        except RplError as err:
            problems.setdefault("held", []).append(str(err))
    for source, label, content in command.external:
        try:
            raw = bundle.text_of_upload(content, label)
        except BundleItemError as err:
            problems.setdefault("files" if source == "upload" else "pasted", []).append(str(err))
            continue
        items.append(BundleItem(f"item-{len(items) + 1}", source, label, raw))
    return items, problems


def _learner_problems(command: SubmitBundle) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not command.learner_name.strip():
        problems["learner_name"] = ["your name is needed for the transcript"]
    if "@" not in command.learner_email:
        problems["learner_email"] = [f"{command.learner_email!r} is not an email address"]
    return problems


def _learner(command: SubmitBundle) -> dict[str, Any]:
    # The salt hashes the email in the credentials' subject, as for claims without a DID.
    return {
        "name": command.learner_name.strip(),
        "email": command.learner_email.strip().lower(),
        "salt": secrets.token_hex(16),
        "did": command.learner_did,
    }


def submit_bundle(uow: UowFactory, command: SubmitBundle, now: datetime) -> tuple[str, str]:
    """Record a bundle for evaluation; returns (request id, the holder's private token)."""
    problems = _learner_problems(command)
    with uow() as tx:
        stored = tx.credit.crosswalk(command.crosswalk_id)
        if stored is None:
            problems["crosswalk_id"] = [f"no published crosswalk {command.crosswalk_id!r}"]
        items, item_problems = _items(tx, command)
        problems |= item_problems
        if not items and not problems.keys() & {"held", "chosen"}:
            problems["files"] = ["add at least one record"]
        if len(items) > bundle.MAX_ITEMS:
            problems["files"] = [f"at most {bundle.MAX_ITEMS} records in one bundle"]
        if problems:
            raise InvalidBundleError(problems)
        assert stored is not None
        token = new_token()
        request = CreditRequest(
            id=str(uuid.uuid4()),
            organisation_id=stored.organisation_id,
            crosswalk_id=stored.crosswalk_id,
            crosswalk_version=stored.version,
            crosswalk_digest=stored.digest,
            state=CreditState.SUBMITTED,
            learner=_learner(command),
            items=tuple(i.to_json() for i in items),
            events=(
                CreditEvent(
                    "CreditRequested", _holder(command), now, None, "submitted", None,
                    {"items": len(items)},
                ),
            ),
            holder_email=command.holder_email,
        )  # fmt: skip
        tx.credit.add(request, hash_token(token), now)
        _audit(tx, request, now)
        tx.commit()
    return request.id, token


def _holder(command: SubmitBundle) -> str:
    return f"claimant:{command.holder_email}" if command.holder_email else "holder"


def _audit(tx: Any, request: CreditRequest, now: datetime) -> None:
    event = request.events[-1]
    data = {"organisation": request.organisation_id, "from": event.from_state, "to": event.to_state}
    if event.reason:
        data["reason"] = event.reason
    tx.audit.append(event.kind, event.actor, f"credit_request:{request.id}", data, now)


def _moved(
    request: CreditRequest,
    action: CreditAction,
    kind: str,
    actor: str,
    now: datetime,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    **changes: Any,
) -> CreditRequest:
    to = next_state(request.id, request.state, action)
    event = CreditEvent(kind, actor, now, request.state.value, to.value, reason, data)
    return replace(request, state=to, events=(*request.events, event), **changes)


# --- evaluating ---------------------------------------------------------------------------------


def evaluate_credit(
    uow: UowFactory,
    resolver: DidResolver,
    status_lists: StatusListFetcher | None,
    request_id: str,
    now: datetime,
) -> bool:
    """Verify every item, apply the crosswalk, store the proposal; the request then awaits an
    assessor. False (and nothing done) if the request was already evaluated."""
    with uow() as tx:
        request = tx.credit.get(request_id)
        if request.state is not CreditState.SUBMITTED:
            return False
        crosswalk = load_crosswalk(tx, request.crosswalk_id, request.crosswalk_version)
    # Verification may fetch DID documents and status lists: outside any transaction.
    items = [
        bundle.with_verification(
            BundleItem.from_json(value),
            verify_credential(value["raw"], resolver, now, status_lists=status_lists),
        )
        for value in request.items
    ]
    proposal = evaluate(crosswalk, [bundle.evidence_of(i) for i in items], now.date())
    with uow() as tx:
        current = tx.credit.get(request_id)
        if current.state is not CreditState.SUBMITTED:
            return False
        data = {"credits": proposal.total_credits, "crosswalk": crosswalk.label}
        updated = _moved(
            current,
            CreditAction.EVALUATE,
            "CreditProposed",
            SYSTEM,
            now,
            data=data,
            items=tuple(i.to_json() for i in items),
            proposal=proposal.to_json(),
        )
        tx.credit.save(updated, now)
        _audit(tx, updated, now)
        tx.commit()
    return True


# --- the assessor ---------------------------------------------------------------------------------


def _of(tx: Any, request_id: str, organisation_id: str | None) -> CreditRequest:
    """The request, if it was made to `organisation_id` (when given): another organisation's
    request is, to its assessors, a request that does not exist."""
    request: CreditRequest = tx.credit.get(request_id)
    if organisation_id is not None and request.organisation_id != organisation_id:
        raise UnknownCreditRequestError(f"no credit request with id {request_id!r}")
    return request


def adjust_credit(
    uow: UowFactory,
    request_id: str,
    adjustment: Adjustment,
    actor: str,
    now: datetime,
    organisation_id: str | None = None,
) -> CreditRequest:
    """Add or remove a course's credit, with a reason; the request still awaits acceptance.
    With `organisation_id`, only a request made to that organisation is found."""
    with uow() as tx:
        request = _of(tx, request_id, organisation_id)
        crosswalk = load_crosswalk(tx, request.crosswalk_id, request.crosswalk_version)
        adjustment = replace(adjustment, by=actor)
        check_adjustment(crosswalk, adjustment, [i["id"] for i in request.items])
        updated = _moved(
            request,
            CreditAction.ADJUST,
            "CreditAdjusted",
            actor,
            now,
            reason=adjustment.reason,
            data=adjustment.to_json(),
            adjustments=(*request.adjustments, adjustment.to_json()),
        )
        tx.credit.save(updated, now)
        _audit(tx, updated, now)
        tx.commit()
    return updated


def decide_credit(
    uow: UowFactory,
    request_id: str,
    accept: bool,
    actor: str,
    reason: str,
    now: datetime,
    organisation_id: str | None = None,
) -> CreditRequest:
    """Accept (then `issue_credit` may run) or reject the proposal as adjusted.
    With `organisation_id`, only a request made to that organisation is found."""
    if not accept and not reason.strip():
        raise InvalidBundleError({"reason": ["say why the request is rejected"]})
    action = CreditAction.ACCEPT if accept else CreditAction.REJECT
    kind = "CreditAccepted" if accept else "CreditRejected"
    with uow() as tx:
        request = _of(tx, request_id, organisation_id)
        updated = _moved(request, action, kind, actor, now, reason=reason.strip() or None)
        tx.credit.save(updated, now)
        _audit(tx, updated, now)
        tx.commit()
    return updated


# --- views ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditView:
    request: CreditRequest
    crosswalk: Crosswalk
    items: tuple[BundleItem, ...]
    proposal: Proposal | None
    awards: tuple[tuple[str, str, str], ...]

    @property
    def adjustments(self) -> tuple[Adjustment, ...]:
        return tuple(Adjustment.from_json(a) for a in self.request.adjustments)


def _view(tx: Any, request: CreditRequest) -> CreditView:
    return CreditView(
        request,
        load_crosswalk(tx, request.crosswalk_id, request.crosswalk_version),
        tuple(BundleItem.from_json(i) for i in request.items),
        Proposal.from_json(request.proposal) if request.proposal else None,
        tuple(tx.credit.awards(request.id)),
    )


def credit_for_holder(uow: UowFactory, token: str) -> CreditView:
    with uow() as tx:
        return _view(tx, tx.credit.by_token(hash_token(token)))


def credit_for_assessor(
    uow: UowFactory, request_id: str, organisation_id: str | None = None
) -> CreditView:
    """A request as its assessors see it; with `organisation_id`, only one made to it."""
    with uow() as tx:
        return _view(tx, _of(tx, request_id, organisation_id))


def credit_for_account(uow: UowFactory, request_id: str, email: str) -> CreditView:
    """A request as the account that submitted it sees it; anyone else's is not found."""
    with uow() as tx:
        request = tx.credit.get(request_id)
        if request.holder_email is None or request.holder_email != email:
            raise UnknownCreditRequestError(f"no credit request with id {request_id!r}")
        return _view(tx, request)


def requests_of_account(uow: UowFactory, email: str) -> list[CreditRequest]:
    """The requests an account submitted, newest first."""
    with uow() as tx:
        return [tx.credit.get(i) for i in tx.credit.ids_for_holder(email)]


def assessor_queue(
    uow: UowFactory,
    states: Sequence[CreditState] = (CreditState.AWAITING_ASSESSOR,),
    organisation_id: str | None = None,
) -> list[CreditRequest]:
    """Requests in `states` (those made to `organisation_id`, when given), oldest first."""
    with uow() as tx:
        return [
            tx.credit.get(i)
            for state in states
            for i in tx.credit.ids_in_state(state, organisation_id=organisation_id)
        ]
