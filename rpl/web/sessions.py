"""The session cookie: a random session id, signed with a key derived from the master key.

The signature (itsdangerous, HMAC) means a cookie this app did not make is refused without a
database lookup; the id itself is checked against the stored hash, so a signed cookie whose session
ended (sign-out, sign-out everywhere, expiry) is refused too. The key is derived with HKDF from the
master key, so no new secret has to be kept, and the master key itself never signs cookies.
"""

from __future__ import annotations

from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

SESSION_COOKIE = "rpl_session"
_INFO = b"rpl session cookie v1"


def cookie_key(master_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(master_key)


def _serializer(request: Request) -> URLSafeSerializer:
    found = getattr(request.app.state, "session_serializer", None)
    if found is None:
        key = cookie_key(request.app.state.container.master_key)
        found = URLSafeSerializer(key, salt="rpl-session")
        request.app.state.session_serializer = found
    return found


def session_id(request: Request) -> str | None:
    """The session id the browser's cookie carries, if the cookie is ours and untouched."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        value = _serializer(request).loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def set_session_cookie(request: Request, response: Response, sid: str, ttl: timedelta) -> None:
    public_url = request.app.state.container.settings.public_url
    response.set_cookie(
        SESSION_COOKIE,
        _serializer(request).dumps(sid),
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=public_url.startswith("https://"),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
