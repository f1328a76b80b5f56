"""HTTP statuses of the passport's errors, merged into `rpl.web.errors.STATUS`."""

from __future__ import annotations

from rpl.errors import RplError
from rpl.passport import InvalidPassportInputError, UnknownGroupingError
from rpl.services.passport import ShareLinkGoneError, UnknownProfileError, UnknownShareLinkError

PASSPORT_STATUS: dict[type[RplError], int] = {
    InvalidPassportInputError: 422,
    UnknownGroupingError: 422,
    UnknownShareLinkError: 404,
    UnknownProfileError: 404,
    ShareLinkGoneError: 410,
}
