"""Password policy, argon2 hashing, verification and rehash detection."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from riskdesk.identity import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordPolicyError,
    Passwords,
    check_password_policy,
)

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def passwords() -> Passwords:
    return Passwords(FAST)


def test_hash_with_same_password_twice_gives_different_salted_argon2id_hashes(
    passwords: Passwords,
) -> None:
    first, second = passwords.hash(PASSWORD), passwords.hash(PASSWORD)
    assert first != second
    assert first.startswith("$argon2id$")
    assert PASSWORD not in first


def test_verify_with_right_and_wrong_password_tells_them_apart(passwords: Passwords) -> None:
    stored = passwords.hash(PASSWORD)
    assert passwords.verify(stored, PASSWORD)
    assert not passwords.verify(stored, PASSWORD + "!")
    assert not passwords.verify(stored, "")


@pytest.mark.parametrize("stored", [None, "", "not-a-hash", "$argon2id$v=19$broken"])
def test_verify_with_missing_or_malformed_hash_returns_false_and_spends_a_verify(
    passwords: Passwords, stored: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    spent: list[str] = []
    original = passwords.spend_one_verify

    def spy(password: str) -> None:
        spent.append(password)
        original(password)

    monkeypatch.setattr(passwords, "spend_one_verify", spy)
    assert not passwords.verify(stored, PASSWORD)
    assert spent == [PASSWORD]


def test_needs_rehash_with_changed_parameters_is_true_and_same_parameters_false() -> None:
    old = Passwords(FAST).hash(PASSWORD)
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    assert stronger.needs_rehash(old)
    assert not Passwords(FAST).needs_rehash(old)
    assert stronger.verify(old, PASSWORD)  # the old hash still verifies


def test_needs_rehash_with_garbage_hash_is_true(passwords: Passwords) -> None:
    assert passwords.needs_rehash("garbage")


def test_password_policy_with_lengths_at_the_bounds_accepts_them() -> None:
    check_password_policy("x" * MIN_PASSWORD_LENGTH)
    check_password_policy("x" * MAX_PASSWORD_LENGTH)
    check_password_policy("  spaces are fine  ")


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("", "at least 12"),
        ("x" * (MIN_PASSWORD_LENGTH - 1), "at least 12"),
        ("x" * (MAX_PASSWORD_LENGTH + 1), "at most 1024"),
    ],
)
def test_password_policy_with_bad_length_raises_naming_the_rule(password: str, rule: str) -> None:
    with pytest.raises(PasswordPolicyError, match=rule) as info:
        check_password_policy(password, field="new_password")
    assert "new_password" in str(info.value)
    assert isinstance(info.value, ValueError)
    if password:
        assert password not in str(info.value)
