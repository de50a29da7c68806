"""Why a record operation was refused; each carries its HTTP status and, where it helps, field errors."""

from __future__ import annotations

from collections.abc import Sequence

from xrm.errors import XrmError
from xrm.runtime.record_logic import FieldError


class RecordError(XrmError):
    """A refused record operation.  ``status`` is the HTTP status the API answers with."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)

    def __str__(self) -> str:
        """The detail and each field error, for logs and the command line."""
        parts = [f"{e.field}: {e.message}" if e.field else e.message for e in self.errors]
        return "; ".join([self.detail, *parts])


class NotFound(RecordError):
    status, title = 404, "Not found"


class Forbidden(RecordError):
    status, title = 403, "Forbidden"


class Invalid(RecordError):
    status, title = 422, "Invalid input"


class Conflict(RecordError):
    status, title = 409, "Conflict"


class StaleVersion(RecordError):
    """The record changed since the caller read it (optimistic concurrency)."""

    status, title = 412, "Record changed"

    def __init__(self, detail: str, current_version: int) -> None:
        super().__init__(detail)
        self.current_version = current_version
