"""``Idempotency-Key`` on mutating requests: replay, conflict, in-progress, no cached rejections.

For an authenticated POST, PUT, PATCH or DELETE carrying ``Idempotency-Key``:

* the first request claims the key (a row ``in_progress`` keyed by user and key, holding the
  SHA-256 of method, path, query and body) and runs;
* a success (2xx/3xx) is stored and every repeat with the same request gets the same status
  and bytes back, marked ``Idempotent-Replayed: true``;
* the same key with another request is 409 ``IDEMPOTENCY_KEY_REUSED``; while the first is
  still running, 409 ``IDEMPOTENCY_IN_PROGRESS``;
* a rejection (4xx/5xx) or a crash releases the key: rejections are not cached, and the
  corrected request may reuse it.

Keys are per user (two users never collide), at most 255 characters, and kept 24 hours.

Paper orders and trade cycles (:data:`DOMAIN_KEYED`) are idempotent in the domain itself (a
repeat returns the stored order even when it was refused, and the key is unique per account
in the database): their routes take the header and this middleware leaves them alone.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta

import anyio
from sqlalchemy import delete, select
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskdesk.service.problems import ErrorCode, ProblemError, problem_response
from riskdesk.service.state import ServiceState
from riskdesk.store import Database
from riskdesk.store.errors import ConstraintViolationError
from riskdesk.store.models import IdempotencyKey
from riskdesk.store.types import utc_now

__all__ = ["IdempotencyMiddleware"]

HEADER = b"idempotency-key"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DOMAIN_KEYED = frozenset({"/v1/orders", "/v1/trade/cycle"})
"""Paths whose idempotency the use case keeps (see the module docstring)."""
MAX_KEY = 255
RETENTION = timedelta(hours=24)

UserOf = Callable[[Scope], str | None]


def _claim(
    db: Database, user_id: uuid.UUID, key: str, method: str, path: str, digest: str
) -> IdempotencyKey | None:
    """Claim ``key``; None when claimed, else the existing row (detached).

    Two requests claiming one key at once: the unique (user, key) rule lets one insert win;
    the other reads the winner's row.
    """
    for _ in range(3):
        try:
            return _try_claim(db, user_id, key, method, path, digest)
        except ConstraintViolationError:
            continue
    raise ProblemError(
        409, ErrorCode.IDEMPOTENCY_IN_PROGRESS, "this Idempotency-Key is being claimed; retry"
    )


def _try_claim(
    db: Database, user_id: uuid.UUID, key: str, method: str, path: str, digest: str
) -> IdempotencyKey | None:
    with db.unit_of_work(actor="idempotency") as uow:
        session = uow.session
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.idempotency_key == key,
                IdempotencyKey.created_at < utc_now() - RETENTION,
            )
        )
        existing = session.scalars(
            select(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.idempotency_key == key
            )
        ).one_or_none()
        if existing is not None:
            session.expunge(existing)
            return existing
        uow.add(
            IdempotencyKey(
                user_id=user_id,
                idempotency_key=key,
                method=method,
                path=path,
                request_sha256=digest,
                state="in_progress",
            )
        )
    return None


def _complete(
    db: Database, user_id: uuid.UUID, key: str, status: int, body: bytes, content_type: str
) -> None:
    with db.unit_of_work(actor="idempotency") as uow:
        row = uow.session.scalars(
            select(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.idempotency_key == key
            )
        ).one()
        row.state = "completed"
        row.response_status = status
        row.response_body = body.decode("utf-8")
        row.response_content_type = content_type
        row.completed_at = utc_now()


def _release(db: Database, user_id: uuid.UUID, key: str) -> None:
    with db.unit_of_work(actor="idempotency") as uow:
        uow.session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.idempotency_key == key,
                IdempotencyKey.state == "in_progress",
            )
        )


class IdempotencyMiddleware:
    """See the module docstring."""

    def __init__(
        self, app: ASGIApp, *, state_of: Callable[[], ServiceState], user_of: UserOf
    ) -> None:
        self.app = app
        self.state_of = state_of
        self.user_of = user_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if (
            scope["type"] != "http"
            or scope["method"] not in MUTATING
            or scope.get("path", "").rstrip("/") in DOMAIN_KEYED
        ):
            await self.app(scope, receive, send)
            return
        key = None
        for name, value in scope.get("headers", ()):
            if name == HEADER:
                key = value.decode("latin-1").strip()
                break
        user = self.user_of(scope) if key is not None else None
        if key is None or user is None:
            # no key, or no valid token (the route answers 401; a rejection is never cached)
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY or not key.isprintable():
            await self._problem(
                scope,
                receive,
                send,
                ProblemError(
                    400,
                    ErrorCode.BAD_REQUEST,
                    f"Idempotency-Key must be 1 to {MAX_KEY} printable characters",
                ),
            )
            return
        # read the whole body (bounded by BodyLimitMiddleware outside us), then replay it
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        path = scope.get("path", "")
        query = scope.get("query_string", b"")
        digest = hashlib.sha256(
            scope["method"].encode() + b"\n" + path.encode() + b"?" + query + b"\n" + body
        ).hexdigest()
        db = self.state_of().db
        user_id = uuid.UUID(user)
        try:
            existing = await anyio.to_thread.run_sync(
                _claim, db, user_id, key, scope["method"], path, digest
            )
        except ProblemError as error:
            await self._problem(scope, receive, send, error)
            return
        if existing is not None:
            await self._answer_existing(scope, send, existing, digest)
            return

        replayed = False

        async def replay_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 0
        content_type = "application/json"
        out: list[bytes] = []

        async def capture_send(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                out.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        except BaseException:
            await anyio.to_thread.run_sync(_release, db, user_id, key)
            raise
        if 200 <= status < 400:
            await anyio.to_thread.run_sync(
                _complete, db, user_id, key, status, b"".join(out), content_type
            )
        else:
            await anyio.to_thread.run_sync(_release, db, user_id, key)

    async def _problem(
        self, scope: Scope, receive: Receive, send: Send, error: ProblemError
    ) -> None:
        await problem_response(Request(scope, receive), error)(scope, receive, send)

    async def _answer_existing(
        self, scope: Scope, send: Send, row: IdempotencyKey, digest: str
    ) -> None:
        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        if row.request_sha256 != digest:
            await self._problem(
                scope,
                no_body,
                send,
                ProblemError(
                    409,
                    ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "this Idempotency-Key was used with a different request (method, path or "
                    "body); use a new key for a new request",
                ),
            )
            return
        if row.state != "completed" or row.response_status is None:
            await self._problem(
                scope,
                no_body,
                send,
                ProblemError(
                    409,
                    ErrorCode.IDEMPOTENCY_IN_PROGRESS,
                    "the first request with this Idempotency-Key is still running; retry "
                    "shortly to get its response",
                    headers={"Retry-After": "1"},
                ),
            )
            return
        body = (row.response_body or "").encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": row.response_status,
                "headers": [
                    (b"content-type", (row.response_content_type or "application/json").encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"idempotent-replayed", b"true"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})
