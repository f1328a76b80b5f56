"""Revoking what `issue_credit` issued: a course credential or a CLR transcript.

They carry entries in the institution's revocation list like a claim's credential, but no claim:
the bit is set with the audit entry in one transaction, and the signed list is re-published at
once (a lost publish only delays it: the list is re-signed whenever it is asked for and stale).
"""

from __future__ import annotations

import logging
from datetime import datetime

from rpl.errors import RplError
from rpl.organisations import Organisation
from rpl.services.status import StatusPublisher, publish_status_list, set_status_bit
from rpl.status import StatusPurpose
from rpl.storage.unit_of_work import ConcurrentUpdateError

log = logging.getLogger("rpl.credit")
_ATTEMPTS = 5


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
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            index = _revoke(publisher, org, credential_id, actor, why, now)
            break
        except ConcurrentUpdateError:  # another change of the same list won: read it again
            if attempt == _ATTEMPTS:
                raise
    try:
        publish_status_list(publisher, org, StatusPurpose.REVOCATION, now)
    except RplError as err:
        log.warning("could not re-publish the revocation list of %s: %s", org.slug, err)
    return index


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
