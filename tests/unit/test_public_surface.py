"""Guards the public names of the packages that other layers import."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "riskdesk.workbench": {
        "DraftRef",
        "EvaluationOutcome",
        "SnapshotRef",
        "TradeRef",
        "VersionRef",
        "Workbench",
    },
    "riskdesk.adapters.files": None,
    "riskdesk.adapters.simulated": None,
    "riskdesk.trading.model": None,
    "riskdesk.trading.fills": None,
    "riskdesk.trading.gates": None,
    "riskdesk.trading.killswitch": None,
    "riskdesk.trading.ledger": None,
    "riskdesk.trading.performance": None,
    "riskdesk.trading.signals": None,
    "riskdesk.trading.market": None,
    "riskdesk.trading.desk": None,
    "riskdesk.streaming": None,
    "riskdesk.streaming.queries": None,
    "riskdesk.adapters.tastytrade": None,
    "riskdesk.adapters.tastytrade.client": None,
    "riskdesk.streaming.source": None,
    "riskdesk.streaming.ingest": None,
    "riskdesk.streaming.journal": None,
    "riskdesk.streaming.writer": None,
    "riskdesk.streaming.manager": {
        "DEFAULT_STOP_TIMEOUT",
        "LATEST_ITEM_KEYS",
        "SourceFactory",
        "StreamManager",
        "StreamStartError",
        "StreamStateError",
    },
    "riskdesk.streaming.demo": None,
    "riskdesk.streaming.sources": None,
    "riskdesk.streaming.reconnect": None,
    "riskdesk.web": None,
    "riskdesk.secrets": None,
    "riskdesk.fileio": {"fsync_dir"},
    "riskdesk.service.local": {"free_port", "local_app", "local_settings", "serve_in_thread"},
    "riskdesk.adapters.ibkr": None,
    "riskdesk.adapters.ibkr.client": None,
    "riskdesk.adapters.ibkr.fake": None,
    "riskdesk.adapters.loopback": {"LoopbackFake", "RatePacer"},
    "riskdesk.adapters.wire": {"WireParseError", "describe"},
    "riskdesk.reporting.stream_charts": None,
    "riskdesk.adapters.broker_market": None,
    "riskdesk.adapters.tastytrade.market": None,
    "riskdesk.adapters.stream_snapshot": None,
    "riskdesk.adapters.ibkr.market": None,
}


@pytest.mark.parametrize("module_name", sorted(EXPECTED))
def test_package_all_with_every_name_resolves_and_matches_expected(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = set(module.__all__)
    for name in names:
        assert getattr(module, name) is not None, f"{module_name}.{name}"
    expected = EXPECTED[module_name]
    if expected is not None:
        assert names == expected


def test_cli_with_version_flag_prints_package_version() -> None:
    from typer.testing import CliRunner

    from riskdesk import __version__
    from riskdesk.cli.main import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout
