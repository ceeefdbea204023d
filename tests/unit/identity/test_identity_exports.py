"""Guards the public names of riskdesk.identity (the service and the CLI code against them)."""

from __future__ import annotations

import dataclasses

import riskdesk.identity as identity

EXPECTED = {
    "LOGIN_FAILED",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "SIGNING_KEY_CONFIG",
    "AccessClaims",
    "AuthenticationError",
    "Identity",
    "IdentityPermissionError",
    "LastAdminError",
    "PasswordPolicyError",
    "Passwords",
    "SessionView",
    "TokenPair",
    "TokenService",
    "UserExistsError",
    "UserNotFoundError",
    "UserView",
    "check_password_policy",
    "load_signing_key",
}


def test_identity_all_with_every_name_resolves_and_matches_expected() -> None:
    assert set(identity.__all__) == EXPECTED
    for name in identity.__all__:
        assert getattr(identity, name) is not None


def test_identity_errors_with_service_mapping_derive_from_the_mapped_bases() -> None:
    from riskdesk.store.errors import WriteConflictError

    assert issubclass(identity.PasswordPolicyError, ValueError)  # 422
    assert issubclass(identity.UserExistsError, WriteConflictError)  # 409
    assert issubclass(identity.UserNotFoundError, LookupError)  # 404
    assert not issubclass(identity.AuthenticationError, ValueError | LookupError)


def test_views_with_public_fields_never_hold_a_hash() -> None:
    for view in (identity.UserView, identity.TokenPair, identity.SessionView):
        names = {f.name for f in dataclasses.fields(view)}
        assert not any("hash" in n or "password" in n for n in names), view
    token_fields = [f.name for f in dataclasses.fields(identity.TokenPair)]
    assert token_fields[:2] == ["access_token", "refresh_token"]
