"""Encryption at rest for secrets kept in the database (broker credentials, sensitive config).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256). The key never sits in the
database: it comes from the OS keyring, or from a key file that must live outside the
database's directory. Seed 000: "encrypt-at-rest with a key not stored alongside ciphertext".

Example:
-------
>>> box = SecretBox(SecretBox.generate_key())
>>> box.decrypt(box.encrypt("token-123"))
'token-123'

"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from riskdesk.config import Settings
from riskdesk.store.errors import SecretStoreError

__all__ = [
    "KEYRING_SERVICE",
    "KEYRING_USERNAME",
    "SecretBox",
    "load_secret_box",
    "secret_box_from_settings",
]

KEYRING_SERVICE = "riskdesk"
KEYRING_USERNAME = "database-encryption-key"
KEY_FILE_MODE = 0o600
"""Mode of a new key file; an existing one may not grant any access to group or others."""


class SecretBox:
    """Encrypts and decrypts text with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise SecretStoreError(
                "encryption key is not a Fernet key (32 url-safe base64-encoded bytes); "
                "create one with SecretBox.generate_key()"
            ) from exc

    @staticmethod
    def generate_key() -> bytes:
        """Generate a new random key."""
        return Fernet.generate_key()

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext (a Fernet token, text starting with ``gAAAAA``) of ``plaintext``."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Plaintext of a token made by :meth:`encrypt` with the same key."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretStoreError(
                "cannot decrypt the stored secret: wrong key (was the key file or keyring entry "
                "replaced?) or damaged ciphertext"
            ) from exc

    @classmethod
    def from_key_file(
        cls, path: Path, *, create: bool = True, database_path: Path | None = None
    ) -> SecretBox:
        """Load the key from ``path``, creating it (mode 0600) if missing and ``create``.

        ``database_path`` (the SQLite file, if any) guards against keeping the key next to the
        ciphertext: a key file in the database's directory is refused. So is a key file whose
        mode lets group or other users read or change it (anything beyond 0600, as ssh does
        for private keys).
        """
        path = path.expanduser().resolve()
        if database_path is not None and path.parent == database_path.expanduser().resolve().parent:
            raise SecretStoreError(
                f"key file {path} is in the same directory as the database {database_path}; "
                "keep the key apart from the ciphertext (another directory or the OS keyring)"
            )
        if path.exists():
            _check_key_file_mode(path)
            return cls(path.read_bytes().strip())
        if not create:
            raise SecretStoreError(f"key file {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            path.parent.chmod(0o700)
        key = cls.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return cls(key)

    @classmethod
    def from_keyring(
        cls,
        *,
        service: str = KEYRING_SERVICE,
        username: str = KEYRING_USERNAME,
        create: bool = True,
    ) -> SecretBox:
        """Load the key from the OS keyring, storing a new one there if missing and ``create``."""
        import keyring
        from keyring.errors import KeyringError

        try:
            stored = keyring.get_password(service, username)
            if stored is None:
                if not create:
                    raise SecretStoreError(f"no key in the OS keyring under {service}/{username}")
                stored = cls.generate_key().decode("ascii")
                keyring.set_password(service, username, stored)
        except KeyringError as exc:
            raise SecretStoreError(f"OS keyring unavailable: {exc}") from exc
        return cls(stored.encode("ascii"))


def _check_key_file_mode(path: Path) -> None:
    """Refuse a key file that group or other users may read or write (POSIX only)."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretStoreError(
            f"key file {path} has mode {mode:04o}: other users can read or change the key; "
            f"restrict it with `chmod 600 {path}`"
        )


def load_secret_box(
    *, key_file: Path | None = None, use_keyring: bool = True, database_path: Path | None = None
) -> SecretBox:
    """Load the key from the OS keyring if one is usable, else from ``key_file``.

    Raises :class:`SecretStoreError` when neither is available.
    """
    errors: list[str] = []
    if use_keyring:
        try:
            return SecretBox.from_keyring()
        except SecretStoreError as exc:
            errors.append(str(exc))
    if key_file is not None:
        return SecretBox.from_key_file(key_file, database_path=database_path)
    errors.append("no key file given")
    raise SecretStoreError("no encryption key available: " + "; ".join(errors))


def secret_box_from_settings(settings: Settings) -> SecretBox:
    """The secret box configured by ``RISKDESK_SECRET_KEY_FILE`` / ``RISKDESK_USE_KEYRING``."""
    database_path: Path | None = None
    if settings.database_url.startswith("sqlite:///"):
        database_path = Path(settings.database_url.removeprefix("sqlite:///"))
    return load_secret_box(
        key_file=settings.secret_key_file,
        use_keyring=settings.use_keyring,
        database_path=database_path,
    )
