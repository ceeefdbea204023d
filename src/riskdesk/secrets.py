"""The secrets store: broker credentials and tokens, never stored in clear.

A :class:`SecretStore` maps validated names (``broker/tastytrade/default``,
``token/tastytrade/default``, ``tastytrade/<login>``, ...) to text values, in one of two
backends:

* ``keyring`` -- the OS keyring through :mod:`keyring` (macOS Keychain, Windows Credential
  Locker, the Secret Service or KWallet on Linux), used when a real backend is available;
  keyring's ``fail`` and ``null`` backends, a chainer with nothing to chain and plain-text
  backends (``keyrings.alt``) do not count;
* ``file`` -- one file encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from
  :mod:`cryptography`), by default ``<riskdesk data dir>/secrets.enc``. The whole name -> value
  table is encrypted, names included. The key is the environment variable
  ``RISKDESK_SECRETS_KEY`` (a Fernet key) when set, else a separate key file, by default
  ``<riskdesk config dir>/secrets.key``, created with mode 0600 on the first write; a key file
  that group or other users may read or change is refused, as is one in the same directory as
  the secrets file. Writes are atomic (a 0600 temporary file fsynced and renamed over the old
  one) and serialized between processes by a lock file.

What the file backend protects against, and what it does not
-------------------------------------------------------------
The secrets file alone is useless: copying the data directory (a backup, a sync service, a
shared or published folder, a support bundle, a stolen disk image of that folder) does not
reveal a secret, and a changed or damaged file is detected (Fernet authenticates) rather than
read wrongly. The 0600 modes keep other local users out. It does **not** protect against
anyone who can act as the same OS user (malware, a compromised account, root), who can read
the key file or the process environment (``/proc/<pid>/environ``) as easily as the secrets
file, nor against a copy that holds both files (a whole home-directory backup). For that, use
the OS keyring, or keep the key only in ``RISKDESK_SECRETS_KEY`` injected by a secret manager.

Values never appear in reprs, logs or exception messages; only names do.

Environment (read by :func:`open_secret_store` only):

``RISKDESK_SECRETS_BACKEND``
    ``auto`` (default), ``keyring`` or ``file``; overrides ``backend="auto"``.
``RISKDESK_SECRETS_KEY``
    The Fernet key of the file backend (instead of the key file).
``RISKDESK_SECRETS_FILE`` / ``RISKDESK_SECRETS_KEY_FILE``
    Paths of the secrets file and of the key file (defaults above).

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> store = open_secret_store(
...     backend="file", path=folder / "data" / "secrets.enc", key_file=folder / "key" / "k"
... )
>>> save_broker_credentials(store, "tastytrade", "default", "trader", "hunter2")
>>> load_broker_credentials(store, "tastytrade", "default")
BrokerCredentials(login='trader', secret='***')
>>> store.names()
['broker/tastytrade/default']

"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from cryptography.fernet import Fernet, InvalidToken

from riskdesk.config import default_data_dir, default_secret_key_file
from riskdesk.fileio import fsync_dir

__all__ = [
    "BACKEND_ENV",
    "DEFAULT_SECRETS_FILE_NAME",
    "FILE_ENV",
    "KEYRING_SERVICE",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "BrokerCredentials",
    "SecretBackendError",
    "SecretDecryptError",
    "SecretNameError",
    "SecretNotFoundError",
    "SecretStore",
    "SecretsError",
    "TokenCache",
    "broker_credentials_name",
    "default_secrets_file",
    "default_secrets_key_file",
    "keyring_usable",
    "load_broker_credentials",
    "load_token",
    "open_secret_store",
    "save_broker_credentials",
    "save_token",
    "token_name",
    "validate_secret_name",
]

BACKEND_ENV: Final = "RISKDESK_SECRETS_BACKEND"
"""Environment variable choosing the backend (``auto``, ``keyring`` or ``file``)."""

KEY_ENV: Final = "RISKDESK_SECRETS_KEY"
"""Environment variable holding the file backend's Fernet key."""

FILE_ENV: Final = "RISKDESK_SECRETS_FILE"
"""Environment variable overriding the path of the encrypted secrets file."""

KEY_FILE_ENV: Final = "RISKDESK_SECRETS_KEY_FILE"
"""Environment variable overriding the path of the key file."""

KEYRING_SERVICE: Final = "riskdesk-secrets"
"""Keyring service the secrets are stored under (one keyring entry per secret)."""

_KEYRING_INDEX_SERVICE: Final = "riskdesk-secrets-index"
_KEYRING_INDEX_USER: Final = "names"

DEFAULT_SECRETS_FILE_NAME: Final = "secrets.enc"
"""File name of the encrypted secrets file in riskdesk's data directory."""

_FILE_FORMAT: Final = "riskdesk-secrets"
_FILE_VERSION: Final = 1
_MAX_NAME_LENGTH: Final = 256
_BROKER_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]*")

BackendChoice = Literal["auto", "keyring", "file"]


# -- errors ------------------------------------------------------------------------------------


class SecretsError(Exception):
    """Base class of the secrets store's errors (their messages never hold a value)."""


class SecretNameError(SecretsError, ValueError):
    """A secret name (or a broker or credentials name) that breaks the naming rules."""


class SecretNotFoundError(SecretsError, KeyError):
    """No secret under that name; the message names it and the command that sets it.

    Attributes
    ----------
    name : str
        The secret looked up.
    command : str
        The ``riskdesk`` command that stores it.

    """

    def __init__(self, name: str, *, backend: str, command: str | None = None) -> None:
        self.name = name
        self.command = command or f"riskdesk secrets set {name}"
        message = (
            f"no secret named {name!r} in the secrets store ({backend}); "
            f"set it with `{self.command}`"
        )
        super().__init__(message)

    def __str__(self) -> str:
        # KeyError's str() would be the repr of the message
        return str(self.args[0])


class SecretDecryptError(SecretsError):
    """The encrypted secrets file cannot be read with the key given (or is damaged)."""


class SecretBackendError(SecretsError):
    """A backend that cannot be used: no OS keyring, a bad key, an unreadable file."""


# -- names -------------------------------------------------------------------------------------


def validate_secret_name(name: object) -> str:
    """Return ``name`` if it is a valid secret name, else raise :class:`SecretNameError`.

    A name is 1 to 256 characters of ``/``-separated non-empty parts (``broker/tastytrade/x``),
    with no whitespace and no control or format characters.
    """
    if not isinstance(name, str):
        raise SecretNameError(f"a secret name must be text, got {type(name).__name__}")
    if not name:
        raise SecretNameError("a secret name must not be empty (e.g. broker/tastytrade/default)")
    if len(name) > _MAX_NAME_LENGTH:
        raise SecretNameError(
            f"secret name {name[:40]!r}... is {len(name)} characters; at most {_MAX_NAME_LENGTH}"
        )
    for char in name:
        if char.isspace():
            raise SecretNameError(f"secret name {name!r} contains whitespace; remove it")
        if unicodedata.category(char).startswith("C"):
            raise SecretNameError(
                f"secret name {name!r} contains the control character U+{ord(char):04X}"
            )
    if any(not part for part in name.split("/")):
        raise SecretNameError(
            f"secret name {name!r} has an empty part; write parts separated by single slashes "
            "with none at either end (e.g. broker/tastytrade/default)"
        )
    return name


def _check_broker(broker: object) -> str:
    if not isinstance(broker, str) or not _BROKER_RE.fullmatch(broker):
        raise SecretNameError(
            f"broker {broker!r} must be lowercase letters, digits, '-' or '_' (e.g. tastytrade)"
        )
    return broker


def _check_part(value: object, what: str) -> str:
    if not isinstance(value, str) or "/" in value:
        raise SecretNameError(f"{what} {value!r} must be text without '/'")
    validate_secret_name(value)
    return value


def broker_credentials_name(broker: str, name: str) -> str:
    """Secret name of broker credentials: ``broker/<broker>/<name>``."""
    return f"broker/{_check_broker(broker)}/{_check_part(name, 'credentials name')}"


def token_name(broker: str, name: str) -> str:
    """Secret name of a cached broker token: ``token/<broker>/<name>``."""
    return f"token/{_check_broker(broker)}/{_check_part(name, 'token name')}"


def _check_value(value: object) -> str:
    if not isinstance(value, str):
        raise SecretsError(f"a secret value must be text, got {type(value).__name__}")
    if not value:
        raise SecretsError("a secret value must not be empty")
    return value


# -- backends ----------------------------------------------------------------------------------


class _Backend(Protocol):
    """What the store needs from a backend (names are validated before they get here)."""

    description: str

    def read(self, name: str) -> str | None: ...

    def write(self, name: str, value: str) -> None: ...

    def remove(self, name: str) -> bool: ...

    def list_names(self) -> list[str]: ...


def keyring_usable(backend: object | None = None) -> bool:
    """True when ``backend`` (default: keyring's current one) can really keep secrets.

    keyring's ``fail`` and ``null`` backends, a chainer with no backend to chain, and
    plain-text backends (``keyrings.alt``'s ``PlaintextKeyring`` stores passwords in clear)
    are not usable.
    """
    import keyring
    from keyring.backends import chainer, fail, null

    current = keyring.get_keyring() if backend is None else backend
    if isinstance(current, fail.Keyring | null.Keyring):
        return False
    if isinstance(current, chainer.ChainerBackend):
        return any(keyring_usable(inner) for inner in current.backends)
    kind = type(current)
    return "plaintext" not in kind.__name__.lower() and not kind.__module__.startswith(
        "keyrings.alt.file"
    )


class _KeyringBackend:
    """One keyring entry per secret, plus an index entry listing the names.

    keyring cannot enumerate entries, hence the index. It is rewritten on each set and delete;
    two processes changing names at the same instant can lose an index entry (never a secret).
    """

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        import keyring

        self._keyring = keyring.get_keyring()
        self._service = service
        kind = type(self._keyring)
        self.description = f"OS keyring ({kind.__module__}.{kind.__name__})"

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        from keyring.errors import KeyringError

        try:
            yield
        except KeyringError as exc:
            raise SecretBackendError(
                f"the OS keyring failed to {action}: {type(exc).__name__}: {exc}; "
                f"unlock it, or use the encrypted file ({BACKEND_ENV}=file)"
            ) from None

    def _index(self) -> list[str]:
        with self._errors("read the list of secret names"):
            text = self._keyring.get_password(_KEYRING_INDEX_SERVICE, _KEYRING_INDEX_USER)
        if not text:
            return []
        try:
            names = json.loads(text)
        except ValueError:
            return []
        return sorted({n for n in names if isinstance(n, str)}) if isinstance(names, list) else []

    def _save_index(self, names: list[str]) -> None:
        with self._errors("save the list of secret names"):
            self._keyring.set_password(
                _KEYRING_INDEX_SERVICE, _KEYRING_INDEX_USER, json.dumps(sorted(set(names)))
            )

    def read(self, name: str) -> str | None:
        with self._errors(f"read secret {name!r}"):
            value = self._keyring.get_password(self._service, name)
        return value

    def write(self, name: str, value: str) -> None:
        with self._errors(f"store secret {name!r}"):
            self._keyring.set_password(self._service, name, value)
        names = self._index()
        if name not in names:
            self._save_index([*names, name])

    def remove(self, name: str) -> bool:
        from keyring.errors import PasswordDeleteError

        existed = self.read(name) is not None
        if existed:
            try:
                with self._errors(f"delete secret {name!r}"):
                    self._keyring.delete_password(self._service, name)
            except PasswordDeleteError:  # pragma: no cover - deleted meanwhile
                existed = False
        names = self._index()
        if name in names:
            self._save_index([n for n in names if n != name])
        return existed

    def list_names(self) -> list[str]:
        return [n for n in self._index() if self.read(n) is not None]


class _FileBackend:
    """The Fernet-encrypted file (see the module docstring)."""

    def __init__(self, path: Path, *, key: str | None, key_file: Path) -> None:
        self.path = path.expanduser().absolute()
        self.key_file = key_file.expanduser().absolute()
        self._fernet: Fernet | None = None
        if key is not None:
            try:
                self._fernet = Fernet(key.strip().encode("ascii"))
            except (ValueError, TypeError, UnicodeError):
                raise SecretBackendError(
                    f"{KEY_ENV} is not a Fernet key (32 url-safe base64-encoded bytes, 44 "
                    "characters); make one with `python -c 'from cryptography.fernet import "
                    "Fernet; print(Fernet.generate_key().decode())'`"
                ) from None
            self._key_source = f"key from {KEY_ENV}"
        else:
            if self.key_file == self.path or self.key_file.parent == self.path.parent:
                raise SecretBackendError(
                    f"key file {self.key_file} is in the same directory as the secrets file "
                    f"{self.path}; keep the key apart (another directory, {KEY_ENV} or the OS "
                    "keyring)"
                )
            self._key_source = f"key file {self.key_file}"
        self.description = f"encrypted file {self.path} ({self._key_source})"

    # -- the key

    def _key(self, *, create: bool) -> Fernet | None:
        if self._fernet is not None:
            return self._fernet
        path = self.key_file
        if path.exists():
            if os.name == "posix":
                mode = stat.S_IMODE(path.stat().st_mode)
                if mode & 0o077:
                    raise SecretBackendError(
                        f"key file {path} has mode {mode:04o}: other users can read or change "
                        f"the key; restrict it with `chmod 600 {path}`"
                    )
            try:
                self._fernet = Fernet(path.read_bytes().strip())
            except (ValueError, TypeError) as exc:
                raise SecretBackendError(
                    f"key file {path} does not hold a Fernet key (32 url-safe base64-encoded "
                    "bytes); restore the original key file"
                ) from exc
            return self._fernet
        if self.path.exists():
            raise SecretBackendError(
                f"the secrets file {self.path} exists but its key file {path} is missing; "
                f"restore the key file or set {KEY_ENV} to the key it was written with"
            )
        if not create:
            return None
        _private_dir(path.parent)
        key = Fernet.generate_key()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return self._key(create=False)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        self._fernet = Fernet(key)
        return self._fernet

    # -- the file

    def _load(self) -> dict[str, str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeError) as exc:
            raise SecretBackendError(f"cannot read the secrets file {self.path}: {exc}") from None
        try:
            outer = json.loads(text)
            token = outer["data"]
            if outer.get("format") != _FILE_FORMAT or not isinstance(token, str):
                raise ValueError(outer.get("format"))
        except (ValueError, TypeError, KeyError, AttributeError):
            raise SecretDecryptError(
                f"{self.path} is not a riskdesk secrets file (or it is damaged); move it away "
                "to start a new one"
            ) from None
        if outer.get("version") != _FILE_VERSION:
            raise SecretDecryptError(
                f"{self.path} is a version {outer.get('version')!r} secrets file; this riskdesk "
                f"reads version {_FILE_VERSION}"
            )
        fernet = self._key(create=False)
        if fernet is None:  # pragma: no cover - _key raises when the file exists
            raise SecretBackendError(f"no key for {self.path}")
        try:
            table = json.loads(fernet.decrypt(token.encode("ascii")).decode("utf-8"))
        except (InvalidToken, UnicodeError, ValueError):
            raise SecretDecryptError(
                f"cannot decrypt the secrets file {self.path} with the {self._key_source}: "
                f"the key is not the one it was written with, or the file was changed; set "
                f"{KEY_ENV} (or restore the key file) to the original key, or move the file "
                "away to start afresh (its secrets are then lost)"
            ) from None
        if not isinstance(table, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in table.items()
        ):
            raise SecretDecryptError(f"the secrets file {self.path} holds an unexpected table")
        return table

    def _save(self, table: Mapping[str, str]) -> None:
        fernet = self._key(create=True)
        if fernet is None:  # pragma: no cover - create=True always gives a key
            raise SecretBackendError(f"no key for {self.path}")
        token = fernet.encrypt(json.dumps(dict(table), sort_keys=True).encode("utf-8"))
        body = json.dumps(
            {"format": _FILE_FORMAT, "version": _FILE_VERSION, "data": token.decode("ascii")}
        )
        directory = self.path.parent
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)  # 0600
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(directory)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize read-modify-write between processes (an flock on ``<file>.lock``)."""
        _private_dir(self.path.parent)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - not POSIX: no inter-process lock
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def read(self, name: str) -> str | None:
        return self._load().get(name)

    def write(self, name: str, value: str) -> None:
        with self._locked():
            table = self._load()
            table[name] = value
            self._save(table)

    def remove(self, name: str) -> bool:
        with self._locked():
            table = self._load()
            if name not in table:
                return False
            del table[name]
            self._save(table)
            return True

    def list_names(self) -> list[str]:
        return sorted(self._load())


def _private_dir(directory: Path) -> None:
    """Create ``directory`` (mode 0700) when missing; an existing one keeps its mode.

    The files themselves are 0600; tightening a folder the store did not create (the data
    directory, a home directory, ``/tmp``) would change other programs' access.
    """
    if directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        directory.chmod(0o700)  # mkdir's mode is filtered by the umask


# -- the store ---------------------------------------------------------------------------------


class SecretStore:
    """Named secrets in one backend; build it with :func:`open_secret_store`.

    Attributes
    ----------
    backend : str
        What keeps the secrets (``OS keyring (...)`` or ``encrypted file PATH (key ...)``).
    kind : {"keyring", "file"}
        The backend's kind.

    """

    def __init__(self, backend: _Backend, *, kind: Literal["keyring", "file"]) -> None:
        self._backend = backend
        self.kind = kind

    @property
    def backend(self) -> str:
        """Description of the backend (never a value nor the key)."""
        return self._backend.description

    def __repr__(self) -> str:
        return f"SecretStore({self.backend!r})"

    def set(self, name: str, value: str) -> None:
        """Store ``value`` under ``name`` (replacing any previous value)."""
        self._backend.write(validate_secret_name(name), _check_value(value))

    def get(self, name: str, *, command: str | None = None) -> str:
        """The value under ``name``.

        Raises
        ------
        SecretNotFoundError
            When there is none; its message names the secret and ``command`` (default:
            ``riskdesk secrets set NAME``).

        """
        value = self._backend.read(validate_secret_name(name))
        if value is None:
            raise SecretNotFoundError(name, backend=self.backend, command=command)
        return value

    def delete(self, name: str) -> bool:
        """Delete the secret ``name``; True if there was one."""
        return self._backend.remove(validate_secret_name(name))

    def names(self) -> list[str]:
        """The names of the stored secrets, sorted (never their values)."""
        return self._backend.list_names()


def default_secrets_file() -> Path:
    """``<riskdesk data dir>/secrets.enc``."""
    return default_data_dir() / DEFAULT_SECRETS_FILE_NAME


def default_secrets_key_file() -> Path:
    """``<riskdesk config dir>/secrets.key`` (beside the database key, apart from the data)."""
    return default_secret_key_file().with_name("secrets.key")


def open_secret_store(
    *,
    backend: BackendChoice | str = "auto",
    path: Path | None = None,
    key_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> SecretStore:
    """Open the secrets store.

    Parameters
    ----------
    backend : {"auto", "keyring", "file"}
        ``auto`` takes ``RISKDESK_SECRETS_BACKEND`` if set, else the OS keyring when
        :func:`keyring_usable`, else the encrypted file.
    path : Path or None
        The encrypted file (default ``RISKDESK_SECRETS_FILE`` or
        :func:`default_secrets_file`).
    key_file : Path or None
        The key file when ``RISKDESK_SECRETS_KEY`` is not set (default
        ``RISKDESK_SECRETS_KEY_FILE`` or :func:`default_secrets_key_file`).
    environ : Mapping[str, str] or None
        The environment to read (default ``os.environ``).

    Raises
    ------
    SecretBackendError
        For an unknown backend, ``keyring`` with no usable keyring, or a malformed key.

    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    choices = ("auto", "keyring", "file")
    if backend not in choices:
        raise SecretBackendError(f"backend {backend!r} is not known; use one of {choices}")
    if backend == "auto":
        chosen = env.get(BACKEND_ENV, "").strip().lower() or "auto"
        if chosen not in choices:
            raise SecretBackendError(
                f"{BACKEND_ENV}={env.get(BACKEND_ENV)!r} is not known; use one of {choices}"
            )
        if chosen == "auto":
            chosen = "keyring" if keyring_usable() else "file"
    else:
        chosen = backend
    if chosen == "keyring":
        if not keyring_usable():
            import keyring

            kind = type(keyring.get_keyring())
            raise SecretBackendError(
                f"no usable OS keyring (keyring's backend is {kind.__module__}.{kind.__name__}); "
                f"use the encrypted file instead ({BACKEND_ENV}=file or --backend file)"
            )
        return SecretStore(_KeyringBackend(), kind="keyring")
    file_path = path or _env_path(env, FILE_ENV) or default_secrets_file()
    key_path = key_file or _env_path(env, KEY_FILE_ENV) or default_secrets_key_file()
    key = env.get(KEY_ENV) or None
    return SecretStore(_FileBackend(file_path, key=key, key_file=key_path), kind="file")


def _env_path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name, "").strip()
    return Path(value) if value else None


# -- broker credentials and tokens -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokerCredentials:
    """A broker login and its secret (password, or client secret and refresh token).

    The repr masks the secret: ``BrokerCredentials(login='trader', secret='***')``.
    """

    login: str
    secret: str

    def __post_init__(self) -> None:
        if not isinstance(self.login, str) or not self.login.strip():
            raise ValueError("login must be non-empty text")
        if any(unicodedata.category(c).startswith("C") for c in self.login):
            raise ValueError(f"login {self.login!r} contains a control character")
        if not isinstance(self.secret, str) or not self.secret:
            raise ValueError("secret must be non-empty text")

    def __repr__(self) -> str:
        return f"BrokerCredentials(login={self.login!r}, secret='***')"

    __str__ = __repr__

    def pair(self) -> tuple[str, str]:
        """``(login, secret)``, the shape broker clients take."""
        return self.login, self.secret


def _broker_login_command(broker: str, name: str) -> str:
    return f"riskdesk secrets broker-login --broker {broker} --name {name} --login LOGIN"


def save_broker_credentials(
    store: SecretStore, broker: str, name: str, login: str, secret: str
) -> None:
    """Store ``(login, secret)`` as one JSON secret under ``broker/<broker>/<name>``."""
    credentials = BrokerCredentials(login, secret)
    store.set(
        broker_credentials_name(broker, name),
        json.dumps({"login": credentials.login, "secret": credentials.secret}),
    )


def load_broker_credentials(store: SecretStore, broker: str, name: str) -> BrokerCredentials:
    """The credentials saved by :func:`save_broker_credentials`.

    Raises
    ------
    SecretNotFoundError
        When none are saved; the message gives the ``riskdesk secrets broker-login`` command.
    SecretsError
        When the secret is not broker credentials.

    """
    secret_name = broker_credentials_name(broker, name)
    text = store.get(secret_name, command=_broker_login_command(broker, name))
    try:
        data: Any = json.loads(text)
        return BrokerCredentials(str(data["login"]), str(data["secret"]))
    except (ValueError, TypeError, KeyError):
        raise SecretsError(
            f"secret {secret_name!r} does not hold broker credentials (login and secret); "
            f"store them again with `{_broker_login_command(broker, name)}`"
        ) from None


def save_token(
    store: SecretStore, broker: str, name: str, token: str, expires_at: datetime
) -> None:
    """Cache a broker token under ``token/<broker>/<name>`` until ``expires_at`` (aware)."""
    if not isinstance(expires_at, datetime) or expires_at.utcoffset() is None:
        raise ValueError(f"expires_at must be a timezone-aware datetime, got {expires_at!r}")
    _check_value(token)
    payload = {"token": token, "expires_at": expires_at.astimezone(UTC).isoformat()}
    store.set(token_name(broker, name), json.dumps(payload))


def load_token(
    store: SecretStore, broker: str, name: str, *, now: datetime | None = None
) -> str | None:
    """The cached token, or None when missing, expired or damaged.

    Expired means ``now >= expires_at``; a damaged entry counts as missing (a cache: the caller
    logs in again and saves a new token).

    ``now`` defaults to the current time; it must be timezone-aware.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got {now!r}")
    try:
        text = store.get(token_name(broker, name))
    except SecretNotFoundError:
        return None
    try:
        data: Any = json.loads(text)
        token = data["token"]
        expires_at = datetime.fromisoformat(data["expires_at"])
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(token, str) or not token or expires_at.utcoffset() is None:
        return None
    return token if now < expires_at else None


class TokenCache:
    """A broker's session token kept in the secrets store between connections and restarts.

    Implements the streaming clients' token-cache protocol
    (:class:`riskdesk.adapters.tastytrade.client.TokenCache`) over :func:`save_token`,
    :func:`load_token` and :meth:`SecretStore.delete`, under ``token/<broker>/<name>``.
    """

    __slots__ = ("_broker", "_name", "_store")

    def __init__(self, store: SecretStore, broker: str, name: str) -> None:
        token_name(broker, name)  # validates both
        self._store = store
        self._broker = broker
        self._name = name

    def __repr__(self) -> str:
        return f"TokenCache({self._broker}/{self._name}, {self._store.backend})"

    def load(self) -> str | None:
        """The cached token, or None when missing or expired."""
        return load_token(self._store, self._broker, self._name)

    def save(self, token: str, expires_at: datetime) -> None:
        """Keep ``token`` until ``expires_at``."""
        save_token(self._store, self._broker, self._name, token, expires_at)

    def clear(self) -> None:
        """Forget the cached token (the server refused it)."""
        self._store.delete(token_name(self._broker, self._name))
