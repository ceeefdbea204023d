"""The source factory: SourceSpec validation and round trip, build_source per broker."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from riskdesk.adapters.simulated.stream import SimulatedSource
from riskdesk.adapters.tastytrade.client import DxlinkSource
from riskdesk.secrets import (
    SecretNotFoundError,
    SecretStore,
    open_secret_store,
    save_broker_credentials,
)
from riskdesk.streaming.source import TickSource
from riskdesk.streaming.sources import (
    SourceSpec,
    SourceUnavailableError,
    build_source,
)

IBKR_MODULE = "riskdesk.adapters.ibkr.client"


@pytest.fixture
def store(tmp_path: Path) -> SecretStore:
    return open_secret_store(
        backend="file",
        path=tmp_path / "data" / "secrets.enc",
        key_file=tmp_path / "config" / "secrets.key",
        environ={},
    )


# -- SourceSpec --------------------------------------------------------------------------------


def test_source_spec_with_no_account_takes_the_broker_default() -> None:
    assert SourceSpec("simulated").account_id == "SIM00001"
    assert SourceSpec("tastytrade").account_id == "5WT00001"
    assert SourceSpec("ibkr").account_id == "DU000001"
    assert SourceSpec("ibkr", account="U123").account_id == "U123"


def test_source_spec_with_dict_round_trips() -> None:
    spec = SourceSpec(
        "tastytrade", account="5WT9", url="ws://127.0.0.1:9", credentials="main", rate=5.0
    )

    data = spec.to_dict()

    assert data == {
        "broker": "tastytrade",
        "account": "5WT9",
        "url": "ws://127.0.0.1:9",
        "credentials": "main",
        "seed": 0,
        "rate": 5.0,
    }
    assert SourceSpec.from_dict(data) == spec


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"broker": "schwab"}, "broker 'schwab'"),
        ({}, "needs a broker"),
        ({"broker": "simulated", "acount": "x"}, "unknown field.*acount"),
        ({"broker": "simulated", "account": " "}, "account ' '"),
        ({"broker": "simulated", "url": "http://x"}, "url 'http://x' is not used"),
        ({"broker": "tastytrade", "url": "ftp://x"}, "url 'ftp://x' must start with"),
        ({"broker": "ibkr", "url": "tws://127.0.0.1"}, "must be tws://host:port"),
        ({"broker": "ibkr", "url": "tws://h:99999"}, "url 'tws://h:99999'"),
        ({"broker": "ibkr", "credentials": "main"}, "credentials 'main' is not used.*TWS"),
        ({"broker": "tastytrade", "credentials": "a b"}, "credentials 'a b'"),
        ({"broker": "simulated", "seed": -1}, "seed -1"),
        ({"broker": "simulated", "seed": True}, "seed True"),
        ({"broker": "simulated", "rate": float("nan")}, "rate nan"),
        ({"broker": "simulated", "rate": "fast"}, "rate 'fast'"),
        ({"broker": "simulated", "rate": 10**400}, "rate 1000"),
        # stored credentials go only to tastytrade over TLS or to a loopback fake
        ({"broker": "tastytrade", "url": "https://evil.example"}, "not a tastytrade API host"),
        ({"broker": "tastytrade", "url": "http://api.tastyworks.com"}, "not a tastytrade"),
        ({"broker": "tastytrade", "url": "http://10.0.0.8:80"}, "not a tastytrade API host"),
    ],
)
def test_source_spec_with_bad_field_raises_value_error_naming_it(
    data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        SourceSpec.from_dict(data)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.tastyworks.com",
        "wss://api.cert.tastyworks.com",
        "http://127.0.0.1:47123",
        "ws://127.9.9.9:1",
        "http://localhost:8080",
        "http://[::1]:8080",
    ],
)
def test_source_spec_with_tastytrade_or_loopback_url_is_accepted(url: str) -> None:
    assert SourceSpec(broker="tastytrade", url=url).url == url


# -- build_source ------------------------------------------------------------------------------


def test_build_source_with_simulated_spec_gives_seeded_simulated_source() -> None:
    source = build_source(SourceSpec("simulated", account="SIM9", seed=3, rate=50.0))

    assert isinstance(source, SimulatedSource)
    assert isinstance(source, TickSource)
    assert (source.account_id, source.seed, source.rate) == ("SIM9", 3, 50.0)


def test_build_source_with_tastytrade_spec_reads_credentials_per_call(store: SecretStore) -> None:
    save_broker_credentials(store, "tastytrade", "main", "trader", "pw-1")
    spec = SourceSpec("tastytrade", url="ws://127.0.0.1:9", credentials="main")

    source = build_source(spec, secrets=store)

    assert isinstance(source, DxlinkSource)
    assert source.base_url == "http://127.0.0.1:9"
    assert source.account_id == "5WT00001"
    provider = source._credentials
    assert callable(provider)
    assert provider() == ("trader", "pw-1")
    save_broker_credentials(store, "tastytrade", "main", "trader", "pw-2")  # rotated
    assert provider() == ("trader", "pw-2")
    assert "pw-" not in repr(provider)


def test_build_source_with_tastytrade_and_no_url_uses_the_live_api(store: SecretStore) -> None:
    save_broker_credentials(store, "tastytrade", "default", "trader", "pw")

    source = build_source(SourceSpec("tastytrade"), secrets=store)

    assert isinstance(source, DxlinkSource)
    assert source.base_url == "https://api.tastyworks.com"


def test_build_source_with_missing_credentials_names_the_command(store: SecretStore) -> None:
    with pytest.raises(SecretNotFoundError) as info:
        build_source(SourceSpec("tastytrade", credentials="main"), secrets=store)

    assert "riskdesk secrets broker-login --broker tastytrade --name main --login LOGIN" in str(
        info.value
    )


def test_build_source_with_ibkr_module_missing_raises_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, IBKR_MODULE, None)

    with pytest.raises(SourceUnavailableError, match=r"ibkr broker needs .*IbkrSource"):
        build_source(SourceSpec("ibkr"))


def test_build_source_with_ibkr_spec_passes_host_port_and_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[Any, ...]] = []

    class FakeIbkrSource:
        broker = "ibkr"

        def __init__(self, host: str, port: int, *, account: str) -> None:
            calls.append((host, port, account))
            self.account_id = account

    module = types.ModuleType(IBKR_MODULE)
    module.IbkrSource = FakeIbkrSource  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, IBKR_MODULE, module)

    source = build_source(SourceSpec("ibkr", url="tws://10.0.0.5:4002", account="DU42"))
    default = build_source(SourceSpec("ibkr"))

    assert isinstance(source, FakeIbkrSource)
    assert isinstance(default, FakeIbkrSource)
    assert calls == [("10.0.0.5", 4002, "DU42"), ("127.0.0.1", 7497, "DU000001")]
