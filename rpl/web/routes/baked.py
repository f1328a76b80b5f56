"""Baked badges: `/credentials/<id>.png` and `.svg`, the badge image carrying its credential."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from rpl import badge_image, baking
from rpl.services import records
from rpl.web.deps import ContainerDep

router = APIRouter(tags=["baked badges"])


def _title(record: records.CredentialRecord) -> str:
    subject = record.document.get("credentialSubject") or {}
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    name = achievement.get("name") if isinstance(achievement, dict) else None
    return str(name or record.document.get("name") or "Credential")


def _download(credential_id: str, extension: str) -> dict[str, str]:
    return {"Content-Disposition": f'inline; filename="credential-{credential_id}.{extension}"'}


@router.get("/credentials/{credential_id}.png", response_class=Response)
def baked_png(container: ContainerDep, credential_id: str) -> Response:
    record = records.get_credential(container.uow, credential_id)
    image = badge_image.badge_png(record.organisation.name)
    baked = baking.bake_png(image, record.stored.document)
    return Response(baked, media_type="image/png", headers=_download(credential_id, "png"))


@router.get("/credentials/{credential_id}.svg", response_class=Response)
def baked_svg(container: ContainerDep, credential_id: str) -> Response:
    record = records.get_credential(container.uow, credential_id)
    image = badge_image.badge_svg(_title(record), record.organisation.name)
    baked = baking.bake_svg(image, record.stored.document)
    return Response(baked, media_type="image/svg+xml", headers=_download(credential_id, "svg"))
