"""HTTP statuses of the credit workflow's errors, merged into `rpl.web.errors.STATUS`."""

from __future__ import annotations

from rpl.bundle import BundleItemError
from rpl.clr import TranscriptError
from rpl.credit import IllegalCreditTransitionError, InvalidAdjustmentError
from rpl.crosswalk import CrosswalkError
from rpl.errors import RplError
from rpl.services.credit import InvalidBundleError, UnknownCrosswalkError
from rpl.services.credit_status import MissingRevocationReasonError, UnknownCreditCredentialError
from rpl.storage.credit import CrosswalkVersionConflictError, UnknownCreditRequestError

CREDIT_STATUS: dict[type[RplError], int] = {
    InvalidBundleError: 422,
    InvalidAdjustmentError: 422,
    BundleItemError: 422,
    CrosswalkError: 422,
    TranscriptError: 422,
    UnknownCreditRequestError: 404,
    UnknownCrosswalkError: 404,
    UnknownCreditCredentialError: 404,
    MissingRevocationReasonError: 422,
    IllegalCreditTransitionError: 409,
    CrosswalkVersionConflictError: 409,
}
