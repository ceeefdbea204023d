"""The one factory of tick sources: every front end (CLI, service, demo) builds them here.

A :class:`SourceSpec` says which broker stream to open (plain data: it round-trips through
:meth:`SourceSpec.to_dict` / :meth:`SourceSpec.from_dict`, so a service request or a config
file can carry it), and :func:`build_source` turns it into a
:class:`~riskdesk.streaming.source.TickSource`:

* ``simulated`` -> :class:`riskdesk.adapters.simulated.stream.SimulatedSource` (no url;
  ``seed`` and ``rate``);
* ``tastytrade`` -> :class:`riskdesk.adapters.tastytrade.client.DxlinkSource` (url
  ``http(s)://`` or ``ws(s)://``, default ``https://api.tastyworks.com``; a fake broker's
  ``http://127.0.0.1:P`` works);
* ``ibkr`` -> ``riskdesk.adapters.ibkr.client.IbkrSource(host, port, account=...)`` (url
  ``tws://host:port``, default ``tws://127.0.0.1:7497``, TWS's paper port), imported lazily.

tastytrade credentials are never in the spec: ``credentials`` names broker credentials in the
secrets store (:func:`riskdesk.secrets.save_broker_credentials`, or ``riskdesk secrets
broker-login --broker tastytrade --name NAME --login LOGIN``), default ``default``. The
source gets a *provider* that reads them from the store at each connection attempt, so a
rotated password is picked up without a restart; :func:`build_source` reads them once up front
so that missing credentials fail at once, with the command that stores them. IBKR logs in
through TWS / IB Gateway, so an ``ibkr`` spec takes no credentials.

Examples
--------
>>> spec = SourceSpec.from_dict({"broker": "simulated", "seed": 3, "rate": 50})
>>> spec.account_id
'SIM00001'
>>> build_source(spec)  # doctest: +SKIP
<riskdesk.adapters.simulated.stream.SimulatedSource object at ...>

"""

from __future__ import annotations

import hashlib
import importlib
import ipaddress
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Final
from urllib.parse import urlsplit

from riskdesk.secrets import (
    BrokerCredentials,
    SecretStore,
    TokenCache,
    load_broker_credentials,
    open_secret_store,
)
from riskdesk.streaming.source import TickSource

__all__ = [
    "BROKERS",
    "DEFAULT_ACCOUNTS",
    "DEFAULT_CREDENTIALS_NAME",
    "DEFAULT_URLS",
    "TASTYTRADE_HOSTS",
    "SourceSpec",
    "SourceUnavailableError",
    "build_source",
    "credentials_provider",
    "occ_mapper",
]

BROKERS: Final[tuple[str, ...]] = ("simulated", "tastytrade", "ibkr")
"""Brokers a :class:`SourceSpec` may name."""

DEFAULT_ACCOUNTS: Final[Mapping[str, str]] = {
    "simulated": "SIM00001",
    "tastytrade": "5WT00001",
    "ibkr": "DU000001",
}
"""Account streamed when a spec names none (the fake brokers serve these)."""

DEFAULT_URLS: Final[Mapping[str, str]] = {
    "tastytrade": "https://api.tastyworks.com",
    "ibkr": "tws://127.0.0.1:7497",
}
"""Address used when a spec names none (tastytrade's API; a local TWS's paper port)."""

DEFAULT_CREDENTIALS_NAME: Final = "default"
"""Name of the broker credentials used when a tastytrade spec names none."""

_URL_SCHEMES: Final[Mapping[str, tuple[str, ...]]] = {
    "tastytrade": ("http", "https", "ws", "wss"),
    "ibkr": ("tws",),
}


TASTYTRADE_HOSTS: Final = ("api.tastyworks.com", "api.cert.tastyworks.com")
"""tastytrade's production and certification API hosts."""


def _trusted_tastytrade(scheme: str, host: str) -> bool:
    """An address stored tastytrade credentials may go to: tastytrade over TLS, or loopback."""
    if host.lower() in TASTYTRADE_HOSTS:
        return scheme in ("https", "wss")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SourceUnavailableError(RuntimeError):
    """The adapter a spec needs cannot be imported (not installed or not built yet)."""


def _fail(field: str, value: object, rule: str) -> ValueError:
    return ValueError(f"source {field} {value!r} {rule}")


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Which broker stream to open; validated on construction.

    Parameters
    ----------
    broker : str
        ``"simulated"``, ``"tastytrade"`` or ``"ibkr"``.
    account : str or None
        Account streamed; None: :data:`DEFAULT_ACCOUNTS` of the broker.
    url : str or None
        tastytrade: ``http(s)://`` or ``ws(s)://`` (a fake broker's ``http://127.0.0.1:P``);
        ibkr: ``tws://host:port``; simulated: must be None. None: :data:`DEFAULT_URLS`.
    credentials : str or None
        tastytrade only: name of broker credentials in the secrets store (None:
        :data:`DEFAULT_CREDENTIALS_NAME`).
    seed : int
        Seed of the simulated stream (>= 0; ignored by live brokers).
    rate : float
        Ticks per second of the simulated stream (finite, >= 0; ignored by live brokers).

    Raises
    ------
    ValueError
        Naming the field, the value and the rule it broke.

    """

    broker: str
    account: str | None = None
    url: str | None = None
    credentials: str | None = None
    seed: int = 0
    rate: float = 100.0

    def __post_init__(self) -> None:
        if self.broker not in BROKERS:
            raise _fail("broker", self.broker, f"is not known; use one of {', '.join(BROKERS)}")
        if self.account is not None and (
            not isinstance(self.account, str)
            or not self.account.strip()
            or self.account != self.account.strip()
        ):
            raise _fail("account", self.account, "must be a non-empty account number")
        self._check_url()
        if self.credentials is not None:
            if self.broker != "tastytrade":
                login = "TWS / IB Gateway" if self.broker == "ibkr" else "nothing"
                raise _fail(
                    "credentials",
                    self.credentials,
                    f"is not used: the {self.broker} broker logs in through {login}; leave "
                    "credentials unset",
                )
            if (
                not isinstance(self.credentials, str)
                or not self.credentials
                or "/" in self.credentials
                or any(c.isspace() or not c.isprintable() for c in self.credentials)
            ):
                raise _fail(
                    "credentials",
                    self.credentials,
                    "must name broker credentials in the secrets store (text without spaces "
                    "or '/', e.g. default)",
                )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise _fail("seed", self.seed, "must be a whole number >= 0")
        try:
            finite = (
                not isinstance(self.rate, bool)
                and isinstance(self.rate, int | float)
                and math.isfinite(self.rate)
                and self.rate >= 0
            )
        except OverflowError:  # an integer too large for a float
            finite = False
        if not finite:
            raise _fail("rate", self.rate, "must be a finite number of ticks per second >= 0")

    def _check_url(self) -> None:
        url = self.url
        if url is None:
            return
        if self.broker == "simulated":
            raise _fail("url", url, "is not used by the simulated broker; leave url unset")
        schemes = _URL_SCHEMES[self.broker]
        usage = " or ".join(f"{s}://" for s in schemes)
        if not isinstance(url, str):
            raise _fail("url", url, f"must be text starting with {usage}")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise _fail("url", url, f"is not a valid address ({usage}host:port)") from None
        if parts.scheme not in schemes or not parts.hostname:
            raise _fail("url", url, f"must start with {usage} and name a host")
        if self.broker == "ibkr" and (
            port is None or parts.path not in ("", "/") or parts.query or parts.fragment
        ):
            raise _fail("url", url, "must be tws://host:port (e.g. tws://127.0.0.1:7497)")
        if self.broker == "tastytrade" and not _trusted_tastytrade(parts.scheme, parts.hostname):
            # the source sends the stored login and password to this address: a request must
            # not be able to point stored credentials at a host of its choosing
            raise _fail(
                "url",
                url,
                "is not a tastytrade API host: stored credentials are sent only to "
                f"{' or '.join(TASTYTRADE_HOSTS)} (https:// or wss://) or to a fake broker on "
                "a loopback address",
            )

    @property
    def account_id(self) -> str:
        """The account streamed (the broker's default when ``account`` is None)."""
        return self.account if self.account is not None else DEFAULT_ACCOUNTS[self.broker]

    @property
    def address(self) -> str | None:
        """The url (the broker's default when ``url`` is None; None for simulated)."""
        return self.url if self.url is not None else DEFAULT_URLS.get(self.broker)

    @property
    def credentials_name(self) -> str | None:
        """Name of the tastytrade credentials (the default when unset); None otherwise."""
        if self.broker != "tastytrade":
            return None
        return self.credentials or DEFAULT_CREDENTIALS_NAME

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceSpec:
        """A spec from plain data (a JSON body, a config table).

        Raises
        ------
        ValueError
            For a missing broker, an unknown key, or a field breaking its rule (named).

        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a source spec must be a mapping, got {type(data).__name__}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ValueError(
                f"source spec has unknown field(s) {', '.join(unknown)}; "
                f"the fields are {', '.join(known)}"
            )
        if "broker" not in data:
            raise ValueError(f"source spec needs a broker (one of {', '.join(BROKERS)})")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain data (:meth:`from_dict` gives the same spec back)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def credentials_provider(store: SecretStore, broker: str, name: str) -> _CredentialsProvider:
    """A callable returning ``(login, secret)`` read from ``store`` at each call."""
    return _CredentialsProvider(store, broker, name)


class _CredentialsProvider:
    """Reads broker credentials from the secrets store each time it is called."""

    __slots__ = ("_broker", "_name", "_store")

    def __init__(self, store: SecretStore, broker: str, name: str) -> None:
        self._store = store
        self._broker = broker
        self._name = name

    def __repr__(self) -> str:
        return f"credentials_provider({self._store!r}, {self._broker!r}, {self._name!r})"

    def load(self) -> BrokerCredentials:
        """The credentials as stored now."""
        return load_broker_credentials(self._store, self._broker, self._name)

    def __call__(self) -> tuple[str, str]:
        return self.load().pair()


def build_source(spec: SourceSpec, *, secrets: SecretStore | None = None) -> TickSource:
    """The tick source of ``spec``.

    Parameters
    ----------
    spec : SourceSpec
        The stream to open.
    secrets : SecretStore or None
        Where tastytrade credentials are read (None: :func:`riskdesk.secrets.open_secret_store`
        with its defaults, opened only for tastytrade).

    Raises
    ------
    riskdesk.secrets.SecretNotFoundError
        tastytrade credentials are not in the store (the message gives the command).
    riskdesk.secrets.SecretsError
        The store cannot be read (wrong key, no keyring, ...).
    SourceUnavailableError
        The broker's adapter cannot be imported.

    """
    if spec.broker == "simulated":
        from riskdesk.adapters.simulated.stream import SimulatedSource

        return SimulatedSource(spec.account_id, seed=spec.seed, rate=spec.rate)
    if spec.broker == "tastytrade":
        from riskdesk.adapters.tastytrade.client import DxlinkSource

        store = secrets if secrets is not None else open_secret_store()
        name = spec.credentials_name or DEFAULT_CREDENTIALS_NAME
        provider = credentials_provider(store, "tastytrade", name)
        provider.load()  # fail now, with the command to run, rather than at each reconnect
        return DxlinkSource(
            spec.address or DEFAULT_URLS["tastytrade"],
            account=spec.account_id,
            credentials=provider,
            token_cache=TokenCache(store, "tastytrade", _token_name(spec, name)),
        )
    return _build_ibkr(spec)


def _token_name(spec: SourceSpec, credentials: str) -> str:
    """The cached token's name: one per credentials and address.

    A fake broker's token is not tastytrade's, nor one host's another's.
    """
    digest = hashlib.sha256((spec.address or "").encode()).hexdigest()[:12]
    return f"{credentials}@{digest}"


def _build_ibkr(spec: SourceSpec) -> TickSource:
    module_name = "riskdesk.adapters.ibkr.client"
    try:
        module = importlib.import_module(module_name)
        factory = module.IbkrSource
    except (ImportError, AttributeError) as exc:
        raise SourceUnavailableError(
            f"the ibkr broker needs {module_name}.IbkrSource, which cannot be imported "
            f"({type(exc).__name__}: {exc}); use --broker tastytrade or simulated"
        ) from exc
    parts = urlsplit(spec.address or DEFAULT_URLS["ibkr"])
    source: TickSource = factory(parts.hostname, parts.port, account=spec.account_id)
    return source


def occ_mapper(broker: str) -> Callable[[str], str]:
    """The broker client's symbol -> padded OCC symbol mapping (tastytrade or ibkr).

    Raises
    ------
    ValueError
        For a broker without option symbols of its own (``simulated``) or an unknown one.
    SourceUnavailableError
        The broker's adapter cannot be imported.

    """
    if broker == "tastytrade":
        from riskdesk.adapters.tastytrade.market import DxlinkMarketSource

        return DxlinkMarketSource.to_occ
    if broker == "ibkr":
        try:
            from riskdesk.adapters.ibkr.market import IbkrMarketSource
        except ImportError as exc:  # the brokers extra is not installed
            raise SourceUnavailableError(
                f"the ibkr broker needs riskdesk.adapters.ibkr.market, which cannot be imported "
                f"({type(exc).__name__}: {exc}); install the brokers extra"
            ) from exc
        return IbkrMarketSource.to_occ
    raise ValueError(f"broker {broker!r} has no account positions to read (tastytrade or ibkr)")
