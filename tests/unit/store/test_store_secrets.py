"""Secrets: Fernet encryption with the key from the OS keyring or a key file (never the DB)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import NoKeyringError

from riskdesk.store.errors import SecretStoreError
from riskdesk.store.secrets import KEYRING_SERVICE, KEYRING_USERNAME, SecretBox, load_secret_box


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise NoKeyringError("no backend")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def test_secret_box_with_round_trip_returns_plaintext_and_fernet_token() -> None:
    box = SecretBox(SecretBox.generate_key())

    token = box.encrypt("ibkr-refresh-token")

    assert token.startswith("gAAAAA")
    assert "ibkr" not in token
    assert box.decrypt(token) == "ibkr-refresh-token"


def test_secret_box_with_other_key_refuses_to_decrypt() -> None:
    token = SecretBox(SecretBox.generate_key()).encrypt("secret")

    with pytest.raises(SecretStoreError, match="wrong key"):
        SecretBox(SecretBox.generate_key()).decrypt(token)


def test_key_file_with_missing_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "secret.key"

    first = SecretBox.from_key_file(path)
    second = SecretBox.from_key_file(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert second.decrypt(first.encrypt("x")) == "x"


def test_key_file_with_database_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretStoreError, match="same directory as the database"):
        SecretBox.from_key_file(
            tmp_path / "secret.key", database_path=tmp_path / "riskdesk.sqlite3"
        )


def test_keyring_with_no_key_stores_a_new_one(memory_keyring: MemoryKeyring) -> None:
    box = SecretBox.from_keyring()

    stored = memory_keyring.items[(KEYRING_SERVICE, KEYRING_USERNAME)]
    assert SecretBox(stored.encode()).decrypt(box.encrypt("y")) == "y"


def test_load_secret_box_with_broken_keyring_falls_back_to_key_file(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    try:
        box = load_secret_box(key_file=tmp_path / "k" / "secret.key")
        with pytest.raises(SecretStoreError, match="no encryption key available"):
            load_secret_box()
    finally:
        keyring.set_keyring(previous)

    assert box.decrypt(box.encrypt("z")) == "z"


def test_secret_box_from_settings_with_key_file_setting_round_trips(tmp_path) -> None:
    from riskdesk.config import Settings
    from riskdesk.store.secrets import secret_box_from_settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'data' / 'db.sqlite3'}",
        secret_key_file=tmp_path / "config" / "secret.key",
        use_keyring=False,
    )
    box = secret_box_from_settings(settings)
    token = box.encrypt("broker-token")
    assert token != "broker-token"
    assert secret_box_from_settings(settings).decrypt(token) == "broker-token"
    assert (tmp_path / "config" / "secret.key").exists()


def test_secret_box_from_settings_with_key_beside_database_is_refused(tmp_path) -> None:
    from riskdesk.config import Settings
    from riskdesk.store.errors import SecretStoreError
    from riskdesk.store.secrets import secret_box_from_settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        secret_key_file=tmp_path / "secret.key",
        use_keyring=False,
    )
    with pytest.raises(SecretStoreError, match="same directory"):
        secret_box_from_settings(settings)
