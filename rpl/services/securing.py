"""Use case: an organisation chooses how its credentials are secured (Data Integrity or VC-JWT)."""

from __future__ import annotations

from datetime import datetime

from rpl.organisations import Organisation, UnknownOrganisationError
from rpl.securing import VC_JWT, check_mechanism
from rpl.services.ports import UowFactory

# What people type; the stored value is the mechanism's full name.
ALIASES = {"jwt": VC_JWT, "vc-jose": VC_JWT, "rdfc": "eddsa-rdfc-2022", "jcs": "eddsa-jcs-2022"}


def mechanism_name(text: str) -> str:
    name = text.strip().lower()
    return check_mechanism(ALIASES.get(name, name))


def choose_securing(
    uow: UowFactory, slug: str, securing: str | None, actor: str, now: datetime
) -> Organisation:
    """Set the organisation's mechanism (None: follow the instance default); audited.

    Credentials issued before keep theirs: each one is verified by what secures it.
    """
    mechanism = mechanism_name(securing) if securing else None
    with uow() as tx:
        org = tx.orgs.by_slug(slug)
        if not tx.securing.set(org.id, mechanism):
            raise UnknownOrganisationError(f"no organisation with slug {slug!r}")
        tx.audit.append(
            "organisation.securing_chosen",
            actor,
            f"organisation:{org.id}",
            {"securing": mechanism or "default"},
            now,
        )
        tx.commit()
        return tx.orgs.by_slug(slug)
