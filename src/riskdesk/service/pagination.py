"""Opaque cursors and the page envelope of every list route.

A cursor is the URL-safe base64 of ``v1|<created_at ISO>|<id>`` with an HMAC tag, so a client
cannot forge or edit one: a cursor that does not decode, verify and parse is a 400
``INVALID_CURSOR``, never silently the first page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from riskdesk.service.problems import ErrorCode, ProblemError
from riskdesk.store.paging import KeysetPage, PageKey

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Page",
    "PageParams",
    "after_key",
    "decode_cursor",
    "encode_cursor",
    "page_params",
    "to_page",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_VERSION = "v1"
_TAG_BYTES = 12

T = TypeVar("T")
S = TypeVar("S")


def _tag(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()[:_TAG_BYTES]


def encode_cursor(key: PageKey, *, secret: bytes) -> str:
    """The opaque cursor of ``key``."""
    created = key.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    payload = f"{_VERSION}|{created}|{key.id.hex}".encode()
    raw = payload + _tag(secret, payload)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, *, secret: bytes) -> PageKey:
    """The key of ``cursor``; a 400 problem when it is not a cursor this service made."""

    def bad(reason: str) -> ProblemError:
        return ProblemError(
            400,
            ErrorCode.INVALID_CURSOR,
            f"cursor {cursor[:40]!r} is not valid ({reason}): pass the next_cursor of a "
            "previous page of this list, or omit it for the first page",
        )

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise bad("not base64") from exc
    if len(raw) <= _TAG_BYTES:
        raise bad("too short")
    payload, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(secret, payload)):
        raise bad("signature does not match")
    try:
        version, created, ident = payload.decode("ascii").split("|")
        if version != _VERSION:
            raise ValueError(version)
        when = datetime.fromisoformat(created)
        key_id = uuid.UUID(hex=ident)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad("malformed") from exc
    if when.tzinfo is None:
        raise bad("malformed")
    return PageKey(when.astimezone(UTC), key_id)


class PageParams(BaseModel):
    """``limit`` and ``cursor`` of a list request."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, max_length=512)


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=512, description="The next_cursor of the previous page."),
    ] = None,
) -> PageParams:
    """FastAPI dependency reading ``limit`` and ``cursor`` from the query string."""
    return PageParams(limit=limit, cursor=cursor)


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None
    limit: int


def after_key(page: PageParams, *, secret: bytes) -> PageKey | None:
    """The key a page request starts after (None for the first page; 400 for a bad cursor)."""
    return None if page.cursor is None else decode_cursor(page.cursor, secret=secret)


def to_page(
    result: KeysetPage[S], convert: Callable[[S], T], page: PageParams, *, secret: bytes
) -> Page[T]:
    """The wire page of a store page: items converted, the next key as a cursor."""
    return Page[T](
        items=[convert(item) for item in result.items],
        next_cursor=None
        if result.next_key is None
        else encode_cursor(result.next_key, secret=secret),
        limit=page.limit,
    )
