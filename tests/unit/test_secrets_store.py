"""The secrets store: encrypted file and OS keyring backends, names, credentials, tokens.

Never touches the machine's keyring: the file backend lives in tmp_path, and the keyring
tests swap keyring's backend for an in-memory one (restored after).
"""

from __future__ import annotations

import json
import stat
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import keyring
import pytest
from cryptography.fernet import Fernet
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from riskdesk.secrets import (
    BACKEND_ENV,
    KEY_ENV,
    BrokerCredentials,
    SecretBackendError,
    SecretDecryptError,
    SecretNameError,
    SecretNotFoundError,
    SecretsError,
    SecretStore,
    keyring_usable,
    load_broker_credentials,
    load_token,
    open_secret_store,
    save_broker_credentials,
    save_token,
    validate_secret_name,
)

NO_ENV: dict[str, str] = {}


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    backend = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    return backend


@pytest.fixture
def fail_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring, "get_keyring", fail.Keyring)


def file_store(tmp_path: Path, env: dict[str, str] | None = None) -> SecretStore:
    return open_secret_store(
        backend="file",
        path=tmp_path / "data" / "secrets.enc",
        key_file=tmp_path / "config" / "secrets.key",
        environ=env or NO_ENV,
    )


# -- file backend ------------------------------------------------------------------------------


def test_file_store_with_set_get_delete_round_trips_and_lists_names(tmp_path: Path) -> None:
    store = file_store(tmp_path)

    store.set("tastytrade/trader@example.com", "pw-1")
    store.set("token/tastytrade/default", "tok")

    assert store.get("tastytrade/trader@example.com") == "pw-1"
    assert store.names() == ["tastytrade/trader@example.com", "token/tastytrade/default"]
    assert store.delete("token/tastytrade/default") is True
    assert store.delete("token/tastytrade/default") is False
    assert store.names() == ["tastytrade/trader@example.com"]
    assert file_store(tmp_path).get("tastytrade/trader@example.com") == "pw-1"


def test_file_store_with_written_secret_keeps_no_clear_text_and_private_modes(
    tmp_path: Path,
) -> None:
    store = file_store(tmp_path)

    store.set("broker/tastytrade/acct-name", "hunter2-value")

    secrets_file = tmp_path / "data" / "secrets.enc"
    key_file = tmp_path / "config" / "secrets.key"
    raw = secrets_file.read_bytes()
    assert b"hunter2-value" not in raw
    assert b"acct-name" not in raw  # names are encrypted too
    assert json.loads(raw)["format"] == "riskdesk-secrets"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in secrets_file.parent.iterdir() if p.name.startswith(".")] == []


def test_file_store_with_no_file_reads_empty_and_creates_no_key(tmp_path: Path) -> None:
    store = file_store(tmp_path)

    assert store.names() == []
    with pytest.raises(SecretNotFoundError):
        store.get("absent")
    assert not (tmp_path / "config" / "secrets.key").exists()


def test_file_store_with_missing_secret_names_it_and_the_set_command(tmp_path: Path) -> None:
    store = file_store(tmp_path)

    with pytest.raises(SecretNotFoundError) as info:
        store.get("token/ibkr/x")

    assert isinstance(info.value, KeyError)
    assert str(info.value).startswith("no secret named 'token/ibkr/x'")
    assert "`riskdesk secrets set token/ibkr/x`" in str(info.value)


def test_file_store_with_other_key_raises_clear_decrypt_error(tmp_path: Path) -> None:
    file_store(tmp_path).set("a", "value-a")
    key_file = tmp_path / "config" / "secrets.key"
    key_file.write_bytes(Fernet.generate_key())

    with pytest.raises(SecretDecryptError, match="cannot decrypt the secrets file") as info:
        file_store(tmp_path).get("a")

    assert "not the one it was written with" in str(info.value)
    assert "value-a" not in str(info.value)


def test_file_store_with_env_key_uses_it_and_not_a_key_file(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    store = file_store(tmp_path, {KEY_ENV: key})

    store.set("a", "value-a")

    assert not (tmp_path / "config" / "secrets.key").exists()
    assert "RISKDESK_SECRETS_KEY" in store.backend
    assert file_store(tmp_path, {KEY_ENV: key}).get("a") == "value-a"
    with pytest.raises(SecretDecryptError, match="RISKDESK_SECRETS_KEY"):
        file_store(tmp_path, {KEY_ENV: Fernet.generate_key().decode()}).get("a")


def test_file_store_with_malformed_env_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(SecretBackendError, match="is not a Fernet key") as info:
        file_store(tmp_path, {KEY_ENV: "not-a-key-zzz"})

    assert "not-a-key-zzz" not in str(info.value)


def test_file_store_with_lost_key_file_says_to_restore_it(tmp_path: Path) -> None:
    file_store(tmp_path).set("a", "v")
    (tmp_path / "config" / "secrets.key").unlink()

    with pytest.raises(SecretBackendError, match=r"key file .* is missing"):
        file_store(tmp_path).names()


def test_file_store_with_group_readable_key_file_is_refused(tmp_path: Path) -> None:
    file_store(tmp_path).set("a", "v")
    (tmp_path / "config" / "secrets.key").chmod(0o644)

    with pytest.raises(SecretBackendError, match="chmod 600"):
        file_store(tmp_path).get("a")


def test_file_store_with_key_file_beside_secrets_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretBackendError, match="same directory"):
        open_secret_store(
            backend="file", path=tmp_path / "s.enc", key_file=tmp_path / "k", environ=NO_ENV
        )


def test_file_store_with_damaged_file_says_it_is_not_a_secrets_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secrets.enc"
    path.parent.mkdir()
    path.write_text("garbage", encoding="utf-8")
    (tmp_path / "config").mkdir()
    key_file = tmp_path / "config" / "secrets.key"
    key_file.write_bytes(Fernet.generate_key())
    key_file.chmod(0o600)

    with pytest.raises(SecretDecryptError, match="not a riskdesk secrets file"):
        file_store(tmp_path).names()


def test_file_store_with_concurrent_writers_keeps_every_secret(tmp_path: Path) -> None:
    file_store(tmp_path).set("seed", "0")  # the key file exists before the race

    def write(i: int) -> None:
        file_store(tmp_path).set(f"n/{i}", str(i))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(file_store(tmp_path).names()) == 9


def test_file_store_with_env_paths_uses_them(tmp_path: Path) -> None:
    env = {
        BACKEND_ENV: "file",
        "RISKDESK_SECRETS_FILE": str(tmp_path / "d" / "s.enc"),
        "RISKDESK_SECRETS_KEY_FILE": str(tmp_path / "c" / "k.key"),
    }

    open_secret_store(environ=env).set("a", "v")

    assert (tmp_path / "d" / "s.enc").exists()
    assert (tmp_path / "c" / "k.key").exists()


# -- names and values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["", " ", "a b", "a\tb", "tab\x00", "a\x1bb", "/a", "a/", "a//b", "x" * 257]
)
def test_secret_name_with_bad_text_is_refused(name: str) -> None:
    with pytest.raises(SecretNameError):
        validate_secret_name(name)


def test_secret_name_with_login_part_is_accepted() -> None:
    assert validate_secret_name("tastytrade/me@example.com") == "tastytrade/me@example.com"


def test_store_with_empty_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretsError, match="must not be empty"):
        file_store(tmp_path).set("a", "")


def test_store_repr_with_secret_shows_backend_not_value(tmp_path: Path) -> None:
    store = file_store(tmp_path)
    store.set("a", "value-xyz")

    assert "value-xyz" not in repr(store)
    assert "encrypted file" in repr(store)


# -- backend choice ----------------------------------------------------------------------------


def test_open_store_with_fail_keyring_picks_the_file(tmp_path: Path, fail_keyring: None) -> None:
    store = open_secret_store(
        path=tmp_path / "d" / "s.enc", key_file=tmp_path / "c" / "k", environ=NO_ENV
    )

    assert store.kind == "file"


def test_open_store_with_working_keyring_picks_it(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    store = open_secret_store(environ=NO_ENV)

    store.set("broker/tastytrade/default", "v1")

    assert store.kind == "keyring"
    assert "MemoryKeyring" in store.backend
    assert memory_keyring.items[("riskdesk-secrets", "broker/tastytrade/default")] == "v1"
    assert store.names() == ["broker/tastytrade/default"]
    assert store.delete("broker/tastytrade/default") is True
    assert store.names() == []
    assert store.delete("broker/tastytrade/default") is False


def test_open_store_with_env_file_backend_overrides_auto(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    store = open_secret_store(
        path=tmp_path / "d" / "s.enc", key_file=tmp_path / "c" / "k", environ={BACKEND_ENV: "file"}
    )

    store.set("a", "v")

    assert store.kind == "file"
    assert memory_keyring.items == {}


def test_open_store_with_keyring_forced_and_none_usable_says_use_file(fail_keyring: None) -> None:
    with pytest.raises(SecretBackendError, match=r"no usable OS keyring.*=file"):
        open_secret_store(backend="keyring", environ=NO_ENV)


def test_open_store_with_unknown_env_backend_is_refused() -> None:
    with pytest.raises(SecretBackendError, match="RISKDESK_SECRETS_BACKEND='vault'"):
        open_secret_store(environ={BACKEND_ENV: "vault"})


def test_keyring_usable_with_null_fail_or_empty_chainer_is_false(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    empty = chainer.ChainerBackend()  # type: ignore[no-untyped-call]
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [MemoryKeyring()])
    full = chainer.ChainerBackend()  # type: ignore[no-untyped-call]

    null_backend = null.Keyring()  # type: ignore[no-untyped-call]
    fail_backend = fail.Keyring()  # type: ignore[no-untyped-call]

    assert keyring_usable(null_backend) is False
    assert keyring_usable(fail_backend) is False
    assert keyring_usable(MemoryKeyring()) is True
    assert keyring_usable(full) is True
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    assert keyring_usable(empty) is False


# -- broker credentials and tokens -------------------------------------------------------------


def test_broker_credentials_with_save_and_load_round_trip_as_one_secret(tmp_path: Path) -> None:
    store = file_store(tmp_path)

    save_broker_credentials(store, "tastytrade", "default", "trader", "s3cret!")
    loaded = load_broker_credentials(store, "tastytrade", "default")

    assert loaded == BrokerCredentials("trader", "s3cret!")
    assert loaded.pair() == ("trader", "s3cret!")
    assert store.names() == ["broker/tastytrade/default"]
    assert repr(loaded) == "BrokerCredentials(login='trader', secret='***')"
    assert "s3cret" not in str(loaded)


def test_broker_credentials_with_none_saved_give_the_broker_login_command(
    tmp_path: Path,
) -> None:
    with pytest.raises(SecretNotFoundError) as info:
        load_broker_credentials(file_store(tmp_path), "tastytrade", "main")

    assert "riskdesk secrets broker-login --broker tastytrade --name main" in str(info.value)


def test_broker_credentials_with_non_json_secret_say_to_store_them_again(tmp_path: Path) -> None:
    store = file_store(tmp_path)
    store.set("broker/tastytrade/main", "not json")

    with pytest.raises(SecretsError, match="does not hold broker credentials"):
        load_broker_credentials(store, "tastytrade", "main")


def test_broker_credentials_with_bad_broker_or_name_are_refused(tmp_path: Path) -> None:
    store = file_store(tmp_path)

    with pytest.raises(SecretNameError, match="broker 'Tasty Trade'"):
        save_broker_credentials(store, "Tasty Trade", "x", "l", "s")
    with pytest.raises(SecretNameError, match="credentials name 'a/b'"):
        save_broker_credentials(store, "tastytrade", "a/b", "l", "s")


def test_token_with_future_expiry_is_returned_until_it_expires(tmp_path: Path) -> None:
    store = file_store(tmp_path)
    expires = datetime(2030, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))

    save_token(store, "tastytrade", "default", "tok-1", expires)

    before = datetime(2030, 1, 1, 16, 59, tzinfo=UTC)
    at = datetime(2030, 1, 1, 17, 0, tzinfo=UTC)
    assert load_token(store, "tastytrade", "default", now=before) == "tok-1"
    assert load_token(store, "tastytrade", "default", now=at) is None
    stored = json.loads(store.get("token/tastytrade/default"))
    assert stored["expires_at"] == "2030-01-01T17:00:00+00:00"


def test_token_with_none_saved_or_damaged_entry_is_none(tmp_path: Path) -> None:
    store = file_store(tmp_path)
    now = datetime(2030, 1, 1, tzinfo=UTC)

    assert load_token(store, "tastytrade", "default", now=now) is None
    store.set("token/tastytrade/default", "{oops")
    assert load_token(store, "tastytrade", "default", now=now) is None


def test_token_with_naive_expiry_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        save_token(file_store(tmp_path), "tastytrade", "d", "t", datetime(2030, 1, 1))
