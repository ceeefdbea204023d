"""Access tokens: issue, decode, expiry, tampering, wrong issuer, key and type checks."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from riskdesk.identity import AccessClaims, AuthenticationError, TokenService
from riskdesk.identity.tokens import hash_refresh_token, new_refresh_token

KEY = b"k" * 64
USER = uuid.UUID("01920000-0000-7000-8000-000000000001")
SID = uuid.UUID("01920000-0000-7000-8000-000000000002")


def _issue(service: TokenService) -> str:
    token, _ = service.issue_access(user_id=USER, username="ana", role="trader", session_id=SID)
    return token


def test_issue_access_with_valid_claims_decodes_back_to_them() -> None:
    service = TokenService(KEY, access_minutes=15)
    token, expires_in = service.issue_access(
        user_id=USER, username="ana", role="trader", session_id=SID
    )
    claims = service.decode_access(token)
    assert expires_in == 900
    assert isinstance(claims, AccessClaims)
    assert (claims.user_id, claims.username, claims.role, claims.session_id) == (
        USER,
        "ana",
        "trader",
        SID,
    )
    assert claims.expires_at.tzinfo is not None
    left = claims.expires_at - datetime.now(UTC)
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)


def test_decode_access_with_expired_token_raises_authentication_error() -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    token = _issue(TokenService(KEY, access_minutes=15, clock=lambda: past))
    with pytest.raises(AuthenticationError, match="expired"):
        TokenService(KEY, access_minutes=15).decode_access(token)


def test_decode_access_with_tampered_payload_raises_authentication_error() -> None:
    service = TokenService(KEY, access_minutes=15)
    header, payload, signature = _issue(service).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(AuthenticationError, match="not valid"):
        service.decode_access(f"{header}.{forged}.{signature}")


def test_decode_access_with_other_key_raises_authentication_error() -> None:
    token = _issue(TokenService(b"o" * 64, access_minutes=15))
    with pytest.raises(AuthenticationError):
        TokenService(KEY, access_minutes=15).decode_access(token)


def test_decode_access_with_wrong_issuer_raises_authentication_error() -> None:
    token = _issue(TokenService(KEY, access_minutes=15, issuer="someone-else"))
    with pytest.raises(AuthenticationError, match="not valid"):
        TokenService(KEY, access_minutes=15).decode_access(token)


def test_decode_access_with_none_algorithm_raises_authentication_error() -> None:
    claims = jwt.decode(
        _issue(TokenService(KEY, access_minutes=15)), options={"verify_signature": False}
    )
    unsigned = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(AuthenticationError):
        TokenService(KEY, access_minutes=15).decode_access(unsigned)


def test_decode_access_with_non_access_type_raises_authentication_error() -> None:
    claims = jwt.decode(
        _issue(TokenService(KEY, access_minutes=15)), options={"verify_signature": False}
    )
    claims["typ"] = "refresh"
    token = jwt.encode(claims, KEY, algorithm="HS256")
    with pytest.raises(AuthenticationError, match="not an access token"):
        TokenService(KEY, access_minutes=15).decode_access(token)


def test_decode_access_with_missing_sid_claim_raises_authentication_error() -> None:
    claims = jwt.decode(
        _issue(TokenService(KEY, access_minutes=15)), options={"verify_signature": False}
    )
    del claims["sid"]
    token = jwt.encode(claims, KEY, algorithm="HS256")
    with pytest.raises(AuthenticationError, match="sid"):
        TokenService(KEY, access_minutes=15).decode_access(token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_decode_access_with_garbage_raises_authentication_error(garbage: str) -> None:
    with pytest.raises(AuthenticationError):
        TokenService(KEY, access_minutes=15).decode_access(garbage)


def test_token_service_with_short_key_raises_value_error() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        TokenService(b"short", access_minutes=15)


def test_refresh_token_with_new_tokens_is_random_and_hashed_as_sha256_hex() -> None:
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second
    assert len(base64.urlsafe_b64decode(first + "=")) == 32
    digest = hash_refresh_token(first)
    assert len(digest) == 64
    assert first not in digest
    assert digest == hash_refresh_token(first)
