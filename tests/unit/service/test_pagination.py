import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from riskdesk.service.pagination import decode_cursor, encode_cursor
from riskdesk.service.problems import ErrorCode, ProblemError
from riskdesk.store.paging import PageKey

SECRET = b"k" * 32


def test_cursor_with_round_trip_returns_same_key_to_the_microsecond() -> None:
    key = PageKey(datetime(2026, 11, 30, 19, 0, 0, 123456, tzinfo=UTC), uuid.uuid4())

    assert decode_cursor(encode_cursor(key, secret=SECRET), secret=SECRET) == key


def test_cursor_with_other_zone_returns_utc_instant() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 11, 30, 14, 0, tzinfo=ZoneInfo("America/New_York"))
    key = PageKey(local, uuid.uuid4())

    decoded = decode_cursor(encode_cursor(key, secret=SECRET), secret=SECRET)

    assert decoded.created_at == local
    assert decoded.created_at.tzinfo == UTC


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c[:-2] + ("AA" if c[-2:] != "AA" else "BB"),  # tag changed
        lambda c: "x" + c,  # shifted
        lambda c: "not a cursor!",
        lambda c: "",
        lambda c: base64.urlsafe_b64encode(b"v1|2026-11-30T00:00:00+00:00|abc").decode(),
    ],
)
def test_cursor_with_tampering_raises_400_invalid_cursor(mutate: object) -> None:
    key = PageKey(datetime(2026, 11, 30, tzinfo=UTC), uuid.uuid4())
    cursor = encode_cursor(key, secret=SECRET)
    assert callable(mutate)

    with pytest.raises(ProblemError) as info:
        decode_cursor(mutate(cursor), secret=SECRET)

    assert info.value.status == 400
    assert info.value.code is ErrorCode.INVALID_CURSOR


def test_cursor_with_other_secret_raises_400() -> None:
    key = PageKey(datetime(2026, 11, 30, tzinfo=UTC) + timedelta(seconds=1), uuid.uuid4())

    with pytest.raises(ProblemError):
        decode_cursor(encode_cursor(key, secret=SECRET), secret=b"other" * 8)
