"""The units of background work, shared by every runner: the inline runner calls them directly,
the Prefect flows call them from their tasks. Each takes the container and ids, nothing else, so a
flow's parameters stay small and a retry is safe (every job is idempotent)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from rpl.config import Settings
from rpl.mail import Mailer
from rpl.services import attestation, issuance
from rpl.services import sweep as sweeping
from rpl.signer import LOCAL
from rpl.storage.unit_of_work import UnitOfWork


class Deps(Protocol):
    """What jobs need from the composition root's container."""

    settings: Settings
    mailer: Mailer
    master_key: bytes

    def uow(self) -> UnitOfWork: ...

    def now(self) -> Any: ...


_keyrings: dict[bytes, issuance.Keyring] = {}


def keyring(deps: Deps) -> issuance.Keyring:
    # Opened keys are kept per process: opening costs an AES decryption per organisation.
    external = getattr(deps, "keystore", None)
    if external is not None and external.name != LOCAL:
        # An external store (PKCS#11) lives as long as its container: one keyring each.
        cached = getattr(deps, "_keyring", None)
        if cached is None or cached.external is not external:
            cached = issuance.Keyring(deps.master_key, external)
            deps._keyring = cached  # type: ignore[attr-defined]
        return cached
    return _keyrings.setdefault(deps.master_key, issuance.Keyring(deps.master_key))


def urls(deps: Deps) -> attestation.Urls:
    return attestation.Urls(deps.settings.public_url)


def request_attestation(deps: Deps, claim_id: str) -> bool:
    ttl = timedelta(days=deps.settings.link_ttl_days)
    return attestation.request_attestation(
        deps.uow, deps.mailer, urls(deps), ttl, claim_id, deps.now()
    )


def issue_batch(deps: Deps, claim_ids: Sequence[str]) -> issuance.IssueReport:
    return issuance.issue_credentials(
        deps.uow,
        keyring(deps),
        deps.mailer,
        urls(deps),
        issuance.IssuePolicy(deps.settings.cryptosuite, deps.settings.status_purposes),
        claim_ids,
        deps.now(),
    )


def batches(claim_ids: Sequence[str], size: int) -> list[list[str]]:
    ids = list(dict.fromkeys(claim_ids))
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def sweep(deps: Deps) -> sweeping.SweepReport:
    """Reminders, expiries, undelivered links and unissued confirmations (see services/sweep)."""
    policy = sweeping.SweepPolicy(
        remind_after=timedelta(days=deps.settings.remind_after_days),
        link_ttl=timedelta(days=deps.settings.link_ttl_days),
    )

    def issue(claim_ids: Sequence[str]) -> None:
        for batch in batches(claim_ids, deps.settings.issue_batch_size):
            issue_batch(deps, batch)

    return sweeping.sweep(deps.uow, deps.mailer, urls(deps), policy, deps.now(), issue)
