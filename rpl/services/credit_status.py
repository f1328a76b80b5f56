"""Revoking what `issue_credit` issued: a course credential or a CLR transcript.

They carry entries in the institution's revocation list like a claim's credential, but no claim:
the bit is set with the audit entry in one transaction, and the signed list is re-published at
once (a lost publish only delays it: the list is re-signed whenever it is asked for and stale).
"""

from __future__ import annotations

from datetime import datetime

from rpl.errors import RplError
from rpl.organisations import Organisation
from rpl.services.status import StatusPublisher, change_and_publish, set_status_bit
from rpl.status import StatusPurpose


class UnknownCreditCredentialError(RplError):
    """No course credential or transcript of this organisation has this id."""


class MissingRevocationReasonError(RplError):
    """A revocation needs a reason, kept in the audit log."""


def revoke_credit_credential(
    publisher: StatusPublisher,
    org: Organisation,
    credential_id: str,
    actor: str,
    reason: str,
    now: datetime,
) -> int:
    """Revoke a course credential or transcript `org` issued for credit; its revocation index."""
    why = reason.strip()
    if not why:
        raise MissingRevocationReasonError("give a reason; it is kept in the audit log")
    return change_and_publish(
        publisher,
        StatusPurpose.REVOCATION,
        lambda: (_revoke(publisher, org, credential_id, actor, why, now), org),
        credential_id,
        now,
    )


def _revoke(
    publisher: StatusPublisher,
    org: Organisation,
    credential_id: str,
    actor: str,
    reason: str,
    now: datetime,
) -> int:
    with publisher.uow() as tx:
        found = tx.credit.issued_for(credential_id)
        if found is None or found[1] != org.id:
            raise UnknownCreditCredentialError(
                f"{org.name} issued no course credential or transcript {credential_id!r}"
            )
        index = set_status_bit(tx, org, credential_id, StatusPurpose.REVOCATION, True, now)
        data = {"credit_request": found[0], "reason": reason, "status": {"revocation": index}}
        tx.audit.append("CreditCredentialRevoked", actor, f"credential:{credential_id}", data, now)
        tx.commit()
    return index
