"""ASGI middleware of the service: request ids and security headers, body limits, rate limits.

Written as plain ASGI callables (not ``BaseHTTPMiddleware``) so that they add no task or
copy per request and work for WebSockets too.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskdesk.service.problems import ErrorCode, ProblemError, internal_error, problem_response
from riskdesk.service.state import ServiceState

__all__ = [
    "BodyLimitMiddleware",
    "RateLimitMiddleware",
    "RequestContextMiddleware",
    "bearer_user_key",
]

log = logging.getLogger("riskdesk.service")

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
)
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
WEB_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data: blob:; connect-src 'self' ws: wss:; font-src 'self' data:; "
    b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""The web workspace's policy: its own scripts only (plotly sets inline styles)."""
WEB_PATHS = ("/static/",)


async def _send_problem(scope: Scope, receive: Receive, send: Send, error: ProblemError) -> None:
    response = problem_response(Request(scope, receive), error)
    await response(scope, receive, send)


class RequestContextMiddleware:
    """``X-Request-Id`` accepted (when well formed) or generated, and echoed; security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope.get("path", "")
        is_web = path == "/" or path.startswith(WEB_PATHS)
        is_api = not is_web and not path.startswith(DOCS_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                headers.extend(SECURITY_HEADERS)
                if is_web:
                    headers.append((b"content-security-policy", WEB_CSP))
                elif is_api:
                    headers.append((b"content-security-policy", API_CSP))
                    if not any(name == b"cache-control" for name, _ in headers):
                        headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send_with_headers(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error (request %s)", request_id)
            if scope["type"] != "http" or started:
                raise
            response = problem_response(Request(scope, receive), internal_error(request_id))
            await response(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` (413), declared or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = ProblemError(
            413,
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"the request body is larger than the {self.max_bytes:,} bytes accepted",
        )
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await _send_problem(scope, receive, send, too_large)
                    return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _send_problem(scope, receive, send, too_large)


class _BodyTooLarge(Exception):
    pass


UserKey = Callable[[Scope], str | None]


def bearer_user_key(state_of: Callable[[], ServiceState]) -> UserKey:
    """Key a request by the user of its bearer token (None when absent or invalid)."""

    def key(scope: Scope) -> str | None:
        token = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                text = value.decode("latin-1")
                if text[:7].lower() == "bearer ":
                    token = text[7:].strip()
                break
        if token is None and scope["type"] == "websocket":
            query = scope.get("query_string", b"").decode("latin-1")
            for part in query.split("&"):
                if part.startswith("access_token="):
                    token = part.split("=", 1)[1]
        if not token:
            return None
        try:
            return str(state_of().identity.tokens.decode_access(token).user_id)
        except Exception:
            return None

    return key


class RateLimitMiddleware:
    """Per-IP and per-user request budgets (per minute), and a tighter one for logins.

    Over budget answers 429 ``RATE_LIMITED`` with ``Retry-After``; every API answer carries
    ``RateLimit-Limit`` / ``RateLimit-Remaining`` / ``RateLimit-Reset`` of the tighter budget.
    """

    WINDOW = 60.0
    LOGIN_PATHS = ("/v1/auth/login", "/v1/auth/refresh")

    def __init__(
        self, app: ASGIApp, *, state_of: Callable[[], ServiceState], user_key: UserKey
    ) -> None:
        self.app = app
        self.state_of = state_of
        self.user_key = user_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        path: str = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        state = self.state_of()
        settings = state.settings
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        checks: list[tuple[str, int]] = [(f"ip:{ip}", settings.rate_limit_ip)]
        if path in self.LOGIN_PATHS:
            checks.append((f"login:{ip}", settings.rate_limit_login))
        user = self.user_key(scope)
        if user is not None:
            checks.append((f"user:{user}", settings.rate_limit_user))
        tightest: Any = None
        for key, limit in checks:
            try:
                decision = await state.rate_limiter.hit(key, limit=limit, window=self.WINDOW)
            except Exception:
                # the limiter's store (Redis) is down: serve rather than refuse everyone, and
                # say so in the log; the request is still authenticated and audited as usual
                log.warning("rate limiter unavailable; request %s not limited", key, exc_info=True)
                continue
            if not decision.allowed:
                retry = max(1, math.ceil(decision.reset_after))
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1013})
                    return
                await _send_problem(
                    scope,
                    receive,
                    send,
                    ProblemError(
                        429,
                        ErrorCode.RATE_LIMITED,
                        f"more than {limit} requests per minute ({key.split(':')[0]} budget); "
                        f"retry in {retry} s",
                        headers={
                            "Retry-After": str(retry),
                            "RateLimit-Limit": str(limit),
                            "RateLimit-Remaining": "0",
                            "RateLimit-Reset": str(retry),
                        },
                    ),
                )
                return
            if tightest is None or decision.remaining < tightest.remaining:
                tightest = decision
        if tightest is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers_extra = [
            (b"ratelimit-limit", str(tightest.limit).encode()),
            (b"ratelimit-remaining", str(tightest.remaining).encode()),
            (b"ratelimit-reset", str(math.ceil(tightest.reset_after)).encode()),
        ]

        async def send_with_limits(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", ())) + headers_extra
            await send(message)

        await self.app(scope, receive, send_with_limits)


Endpoint = Callable[[Scope, Receive, Send], Awaitable[None]]
