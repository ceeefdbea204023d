"""The key file of encrypted secrets is refused when other users may read or change it."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskdesk.config import Settings
from riskdesk.store.errors import SecretStoreError
from riskdesk.store.secrets import SecretBox, secret_box_from_settings


def key_file(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "keys" / "secret.key"
    path.parent.mkdir(mode=0o700)
    path.write_bytes(SecretBox.generate_key())
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o666, 0o644, 0o640, 0o604, 0o620, 0o660])
def test_key_file_with_group_or_other_access_is_refused(tmp_path: Path, mode: int) -> None:
    path = key_file(tmp_path, mode)

    with pytest.raises(SecretStoreError) as raised:
        SecretBox.from_key_file(path)

    assert f"has mode {mode:04o}" in str(raised.value)
    assert f"chmod 600 {path}" in str(raised.value)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_key_file_with_owner_only_mode_is_accepted(tmp_path: Path, mode: int) -> None:
    path = key_file(tmp_path, mode)
    token = SecretBox(path.read_bytes()).encrypt("broker-token")

    assert SecretBox.from_key_file(path).decrypt(token) == "broker-token"


def test_secret_box_from_settings_with_world_readable_key_file_is_refused(tmp_path: Path) -> None:
    path = key_file(tmp_path, 0o666)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db' / 'riskdesk.sqlite3'}",
        secret_key_file=path,
        use_keyring=False,
    )

    with pytest.raises(SecretStoreError, match="other users can read or change the key"):
        secret_box_from_settings(settings)
