"""Errors as RFC 9457 problem details, with a stable machine ``code``.

Every error the service answers is ``application/problem+json``::

    {"type": "tag:riskdesk.dev,2026:problem/not-found", "title": "Not found", "status": 404,
     "detail": "no trade draft matches 'abc'", "code": "NOT_FOUND", "instance": "/v1/...",
     "request_id": "...", "errors": [{"field": "body.legs[0].quantity", "rule": "...", ...}]}

Routes raise :class:`ProblemError` (or let a use-case error through: :func:`problem_for`
maps the known ones); anything else is a 500 whose detail names only the request id, never
the exception text.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskdesk.identity import AuthenticationError
from riskdesk.risk.modeling import SessionClosedError
from riskdesk.risk.reports import HistoryMissingError
from riskdesk.store import workbench as repo
from riskdesk.store.errors import (
    DatabaseUnavailableError,
    ImmutableRowError,
    SecretStoreError,
    StoreError,
    WriteConflictError,
)
from riskdesk.trading.desk import IdempotencyConflictError, OrderStateError

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ErrorCode",
    "FieldError",
    "Problem",
    "ProblemError",
    "install_problem_handlers",
    "internal_error",
    "problem_for",
    "problem_response",
]

log = logging.getLogger("riskdesk.service")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "tag:riskdesk.dev,2026:problem/"


class ErrorCode(enum.StrEnum):
    """Stable machine codes; clients branch on these, never on ``detail`` text."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    BAD_REQUEST = "BAD_REQUEST"
    INVALID_CURSOR = "INVALID_CURSOR"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"
    RISK_BLOCKED = "RISK_BLOCKED"
    KILL_SWITCH_ACTIVE = "KILL_SWITCH_ACTIVE"
    STALE_MARKET_DATA = "STALE_MARKET_DATA"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


TITLES: dict[ErrorCode, str] = {
    ErrorCode.VALIDATION_ERROR: "The request is not valid",
    ErrorCode.BAD_REQUEST: "Bad request",
    ErrorCode.INVALID_CURSOR: "The pagination cursor is not valid",
    ErrorCode.UNAUTHENTICATED: "Authentication required",
    ErrorCode.FORBIDDEN: "Not allowed",
    ErrorCode.NOT_FOUND: "Not found",
    ErrorCode.METHOD_NOT_ALLOWED: "Method not allowed",
    ErrorCode.CONFLICT: "Conflict",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: "Idempotency key used with another request",
    ErrorCode.IDEMPOTENCY_IN_PROGRESS: "A request with this idempotency key is still running",
    ErrorCode.RISK_BLOCKED: "Blocked by a risk gate",
    ErrorCode.KILL_SWITCH_ACTIVE: "The kill switch is active",
    ErrorCode.STALE_MARKET_DATA: "Market data is stale",
    ErrorCode.PAYLOAD_TOO_LARGE: "Request body too large",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
    ErrorCode.RATE_LIMITED: "Too many requests",
    ErrorCode.INTERNAL_ERROR: "Internal error",
    ErrorCode.SERVICE_UNAVAILABLE: "Service unavailable",
}

_STATUS_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION_ERROR,
    423: ErrorCode.KILL_SWITCH_ACTIVE,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


class FieldError(BaseModel):
    """One invalid field: where it is, which rule it breaks, and a sentence saying so."""

    field: str = Field(examples=["body.legs.0.quantity"])
    rule: str = Field(examples=["greater_than"])
    message: str = Field(examples=["Input should be greater than 0"])


class Problem(BaseModel):
    """An RFC 9457 problem document plus riskdesk's machine ``code``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": TYPE_PREFIX + "not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "no trade draft matches '0192f0c4'",
                    "code": "NOT_FOUND",
                    "instance": "/v1/trades/drafts/0192f0c4",
                    "request_id": "5f0c2b5e2f6a4c6e9d1f3a7b8c9d0e1f",
                }
            ]
        }
    )

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None
    details: dict[str, Any] | None = Field(
        default=None,
        description="Machine-readable facts of the refusal (a risk block's rule, observed and "
        "threshold values and the stored order).",
    )


class ProblemError(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        detail: str,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})
        self.details = dict(details) if details is not None else None


def _type_uri(code: ErrorCode) -> str:
    return TYPE_PREFIX + code.value.lower().replace("_", "-")


def problem_response(request: Request | None, error: ProblemError) -> JSONResponse:
    """The JSON response of ``error`` (request id and instance taken from ``request``)."""
    request_id = None if request is None else getattr(request.state, "request_id", None)
    problem = Problem(
        type=_type_uri(error.code),
        title=TITLES[error.code],
        status=error.status,
        detail=error.detail,
        code=error.code.value,
        instance=None if request is None else request.url.path,
        request_id=request_id,
        errors=error.errors,
        details=error.details,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=error.headers,
    )


def problem_for(exc: BaseException) -> ProblemError | None:
    """The problem a known use-case or store error stands for (None when unknown)."""
    if isinstance(exc, ProblemError):
        return exc
    if isinstance(exc, AuthenticationError):
        return ProblemError(
            401, ErrorCode.UNAUTHENTICATED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        )
    if isinstance(exc, PermissionError):
        return ProblemError(403, ErrorCode.FORBIDDEN, str(exc))
    if isinstance(exc, IdempotencyConflictError):
        return ProblemError(409, ErrorCode.IDEMPOTENCY_KEY_REUSED, str(exc))
    if isinstance(exc, OrderStateError):
        return ProblemError(409, ErrorCode.CONFLICT, str(exc))
    if isinstance(exc, repo.AmbiguousReferenceError | HistoryMissingError | SessionClosedError):
        # a missing price history (the message says how to add it) or a closed what-if
        # session: the resource exists, its state refuses the request
        return ProblemError(409, ErrorCode.CONFLICT, str(exc))
    if isinstance(exc, repo.NotFoundError | LookupError):
        return ProblemError(404, ErrorCode.NOT_FOUND, str(exc).strip("'\""))
    if isinstance(exc, WriteConflictError | ImmutableRowError):
        return ProblemError(409, ErrorCode.CONFLICT, str(exc))
    if isinstance(exc, DatabaseUnavailableError):
        return ProblemError(
            503, ErrorCode.SERVICE_UNAVAILABLE, "the database is unavailable; try again shortly"
        )
    if isinstance(exc, SecretStoreError):
        return None  # a server-side configuration fault: never describe it to the client
    if isinstance(exc, ValueError) and not isinstance(exc, StoreError | UnicodeError):
        return ProblemError(422, ErrorCode.VALIDATION_ERROR, str(exc))
    if isinstance(exc, StoreError) and isinstance(exc, ValueError):
        return ProblemError(422, ErrorCode.VALIDATION_ERROR, str(exc))
    return None


def internal_error(request_id: str) -> ProblemError:
    """The 500 problem: it names the request id, never the exception."""
    return ProblemError(
        500,
        ErrorCode.INTERNAL_ERROR,
        f"the server failed on this request; quote request id {request_id} when reporting it",
    )


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    out = []
    for item in exc.errors():
        loc = ".".join(str(part) for part in item.get("loc", ()))
        out.append(
            FieldError(
                field=loc or "body",
                rule=str(item.get("type", "invalid")),
                message=str(item.get("msg", "invalid value")),
            )
        )
    return out


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem document."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc)
        first = errors[0] if errors else None
        detail = (
            f"{first.field}: {first.message}" if first is not None else "the request is invalid"
        )
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return problem_response(
            request, ProblemError(422, ErrorCode.VALIDATION_ERROR, detail, errors=errors)
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, ErrorCode.BAD_REQUEST)
        status = exc.status_code if exc.status_code in _STATUS_CODES else 400
        detail = str(exc.detail) if exc.detail else TITLES[code]
        return problem_response(
            request, ProblemError(status, code, detail, headers=dict(exc.headers or {}))
        )

    async def on_any(request: Request, exc: Exception) -> JSONResponse:
        known = problem_for(exc)
        if known is not None:
            return problem_response(request, known)
        request_id = getattr(request.state, "request_id", "-")
        log.exception("unhandled error (request %s)", request_id)
        return problem_response(request, internal_error(request_id))

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    # use-case errors are answered inside the app (a handler for Exception alone would run in
    # Starlette's outermost middleware, which re-raises after answering)
    for known in (ValueError, LookupError, StoreError, AuthenticationError, PermissionError):
        app.add_exception_handler(known, on_any)
    # anything else: RequestContextMiddleware answers a 500 problem (see internal_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem answers for ``statuses``."""
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "description": TITLES[_STATUS_CODES.get(status, ErrorCode.BAD_REQUEST)],
        }
        for status in statuses
    }
