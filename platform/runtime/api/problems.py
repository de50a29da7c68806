"""Errors as RFC 9457 problem details (``application/problem+json``) with per-field ``errors``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response

from xrm.runtime.record_logic import FieldError

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """An HTTP error raised before the record service is reached (authentication, body, headers)."""

    def __init__(self, status: int, title: str, detail: str, errors: Sequence[FieldError] = (),
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})


def problem_response(status: int, title: str, detail: str, errors: Sequence[FieldError] = (),
                     headers: Mapping[str, str] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank", "title": title, "status": status, "detail": detail,
        "errors": [{"field": e.field, "message": e.message, "code": e.code} for e in errors],
        **extra,
    }
    return Response(json.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {}))


def unauthorized(detail: str = "sign in, or send an API token as 'Authorization: Bearer <token>'") -> ApiProblem:
    return ApiProblem(401, "Not signed in", detail, headers={"WWW-Authenticate": 'Bearer realm="xrm"'})
