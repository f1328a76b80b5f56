"""A credential as a PDF to print: the same facts as its page, and a QR code to the live check."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from rpl import printable
from rpl.services import records
from rpl.web.deps import ContainerDep, UrlsDep

router = APIRouter()


# Registered before `/credentials/{credential_id}`, which would otherwise take "<id>.pdf" as an id.
@router.get("/credentials/{credential_id}.pdf", response_class=Response)
def credential_pdf(  # access: public, as the credential's page (holders' sharing comes later)
    container: ContainerDep,
    urls: UrlsDep,
    credential_id: str,
    paper: Literal["a4", "letter"] = "a4",
) -> Response:
    record = records.get_credential(container.uow, credential_id)
    if record.claim is None:  # signed through the VC API: no confirmed facts to print
        raise records.UnknownCredentialError(f"credential {credential_id!r} has no printed form")
    facts = printable.printed_facts(record.document, record.claim, record.organisation)
    pdf = printable.credential_pdf(facts, urls.credential(credential_id), paper, container.now())
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="credential-{credential_id[:8]}-{paper}.pdf"',
            # Printed now: the PDF says when, and may change when the organisation's name does.
            "Cache-Control": "no-store",
        },
    )
