"""The workbench through the real CLI (typer's runner) on a SQLite file: market, snapshot,
trade, evaluate, compare, attribute, import, and the demo main job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.cli.main import app
from riskdesk.domain.occ import format_occ, parse_occ

AS_OF = "2026-11-20T15:00:00Z"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.sqlite3'}"
    result = CliRunner().invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    return url


def run(db: str, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--database-url", db])
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.stdout


def run_json(db: str, *args: str) -> dict:
    return json.loads(run(db, *args, "--json"))


@pytest.fixture(scope="module")
def snapshot(db: str) -> dict:
    return run_json(db, "market", "synth", "--symbols", "SPY", "--max-days", "60", "--as-of", AS_OF)


def _chain_symbol(db: str, snapshot_hash: str, right: str, pick: int) -> str:
    data = run_json(db, "snapshot", "show", snapshot_hash[:12])
    quotes = [
        o
        for o in data["options"]
        if o["contract"]["right"] == right
        and o["bid"] is not None
        and o["ask"] is not None
        and float(o["bid"]) > 0
    ]
    quotes.sort(key=lambda o: (o["contract"]["expiry"], float(o["contract"]["strike"])))
    c = quotes[pick]["contract"]
    return format_occ(
        parse_occ(
            f"SPY{c['expiry'][2:4]}{c['expiry'][5:7]}{c['expiry'][8:10]}"
            f"{right}{round(float(c['strike']) * 1000):08d}"
        ),
        padded=False,
    )


def test_market_synth_with_json_stores_live_snapshot_with_diagnostics(
    db: str, snapshot: dict
) -> None:
    assert snapshot["created"] is True
    assert len(snapshot["snapshot_hash"]) == 64
    assert "by_underlying" in snapshot["diagnostics"]
    again = run_json(
        db, "market", "synth", "--symbols", "SPY", "--max-days", "60", "--as-of", AS_OF
    )
    assert again["snapshot_hash"] == snapshot["snapshot_hash"]
    assert again["created"] is False


def test_snapshot_refresh_with_live_snapshot_moves_along_the_path(db: str, snapshot: dict) -> None:
    refreshed = run_json(
        db,
        "snapshot",
        "refresh",
        snapshot["snapshot_hash"][:12],
        "--minutes",
        "30",
        "--max-days",
        "60",
    )
    assert refreshed["created"] is True
    shown = run_json(db, "snapshot", "show", refreshed["snapshot_hash"][:12])
    assert shown["as_of"] == "2026-11-20T15:30:00Z"
    assert shown["mode"] == "LIVE"
    wrong = CliRunner().invoke(
        app,
        [
            "snapshot",
            "refresh",
            snapshot["snapshot_hash"][:12],
            "--seed",
            "8",
            "--max-days",
            "60",
            "--database-url",
            db,
        ],
    )
    assert wrong.exit_code == 1
    assert "not generated with --seed 8" in wrong.output
    custom = run_json(
        db,
        "snapshot",
        "create",
        "--symbols",
        "SPY",
        "--max-days",
        "60",
        "--as-of",
        AS_OF,
        "--rate",
        "0.05",
        "--div-yield",
        "SPY=0.02",
    )
    moved = run_json(
        db,
        "snapshot",
        "refresh",
        custom["snapshot_hash"][:12],
        "--minutes",
        "5",
        "--max-days",
        "60",
    )
    overrides = run_json(db, "snapshot", "show", moved["snapshot_hash"][:12])["overrides"]
    assert overrides["rate"] == 0.05
    assert overrides["dividend_yield"] == {"SPY": 0.02}


def test_snapshot_pin_with_live_snapshot_gives_pinned_copy(db: str, snapshot: dict) -> None:
    pinned = run_json(db, "snapshot", "pin", snapshot["snapshot_hash"][:12])
    assert pinned["snapshot_hash"] != snapshot["snapshot_hash"]
    shown = run_json(db, "snapshot", "show", pinned["snapshot_hash"][:12])
    assert shown["mode"] == "PINNED"
    assert "riskdesk" not in run(db, "snapshot", "list")  # a table, no traceback


def test_trade_flow_with_cli_commits_evaluates_compares_and_attributes(
    db: str, snapshot: dict
) -> None:
    snap = snapshot["snapshot_hash"][:12]
    draft = run_json(db, "trade", "new", "cli put spread")["draft_id"]
    long_put = _chain_symbol(db, snapshot["snapshot_hash"], "P", 40)
    short_put = _chain_symbol(db, snapshot["snapshot_hash"], "P", 30)
    added = run_json(
        db, "trade", "add-leg", draft, "--occ", long_put, "--qty", "1", "--snapshot", snap
    )
    assert added["rev"] == 2
    run_json(db, "trade", "add-leg", draft, "--occ", short_put, "--qty", "-1", "--snapshot", snap)
    stock = run_json(
        db,
        "trade",
        "add-leg",
        draft,
        "--stock",
        "SPY",
        "--qty",
        "10",
        "--price",
        "600.10",
        "--fees",
        "1.00",
    )
    leg_id = next(leg["leg_id"] for leg in stock["legs"] if leg["instrument"]["type"] == "STOCK")
    toggled = run_json(db, "trade", "toggle-leg", draft, leg_id[:8])
    assert next(leg for leg in toggled["legs"] if leg["leg_id"] == leg_id)["include"] is False
    assert toggled["rev"] == 5
    committed = run_json(db, "trade", "commit", draft)
    trade_hash = committed["trade_hash"]
    assert run_json(db, "trade", "show", trade_hash[:12])["trade_hash"] == trade_hash

    first = run_json(db, "evaluate", trade_hash[:12], "--snapshot", snap)
    second = run_json(db, "evaluate", trade_hash[:12], "--snapshot", snap)
    assert first["cache_hit"] is False
    assert second["cache_hit"] is True
    strip = lambda d: {k: v for k, v in d.items() if k != "cache_hit"}  # noqa: E731
    assert strip(first) == strip(second)
    assert first["measures"]["max_loss"]["unbounded"] is False
    assert "evaluation" in run(db, "evaluate", trade_hash[:12], "--snapshot", snap)

    other = run_json(db, "trade", "new", "cli long put")["draft_id"]
    run_json(db, "trade", "add-leg", other, "--occ", long_put, "--qty", "1", "--snapshot", snap)
    other_hash = run_json(db, "trade", "commit", other)["trade_hash"]
    compared = run_json(db, "compare", trade_hash[:12], other_hash[:12], "--snapshot", snap)
    assert compared["diff"]["value"] == pytest.approx(
        compared["a"]["measures"]["value"] - compared["b"]["measures"]["value"]
    )

    attributed = run_json(db, "attribute", trade_hash[:12], "--base", snap, "--days", "1")
    sequential = attributed["trade"]["sequential"]
    assert sum(v for k, v in sequential.items() if k != "total") == pytest.approx(
        attributed["trade"]["total"], abs=1e-9
    )


def test_evaluate_with_unknown_trade_exits_with_clear_error(db: str, snapshot: dict) -> None:
    result = CliRunner().invoke(app, ["evaluate", "0000dead", "--database-url", db])
    assert result.exit_code == 1
    assert "no trade version or draft matches" in result.output


def test_market_import_with_exported_chain_and_bad_row_reports_and_keeps_good_rows(
    db: str, tmp_path: Path
) -> None:
    out = tmp_path / "chain.csv"
    run(
        db,
        "market",
        "synth",
        "--symbols",
        "SPY",
        "--max-days",
        "20",
        "--as-of",
        AS_OF,
        "--out",
        str(out),
        "--no-store",
    )
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    bad = lines[1].split(",")
    bad[header.index("strike")] = "abc"
    out.write_text("\n".join([lines[0], ",".join(bad), *lines[2:]]) + "\n")
    data = run_json(
        db,
        "market",
        "import",
        str(out),
        "--underlyings",
        str(tmp_path / "chain_underlyings.csv"),
        "--as-of",
        AS_OF,
    )
    assert data["rows_rejected"] == 1
    assert data["rows_ok"] == len(lines) - 2
    assert data["errors"][0]["column"] == "strike"


@pytest.mark.slow
def test_demo_with_fresh_database_writes_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskdesk.config import get_settings

    monkeypatch.setenv("RISKDESK_SECRET_KEY_FILE", str(tmp_path / "config" / "secret.key"))
    monkeypatch.setenv("RISKDESK_USE_KEYRING", "false")
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    report = tmp_path / "report.html"
    try:
        result = CliRunner().invoke(app, ["demo", "--out", str(report), "--database-url", url])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert "riskdesk demo report" in text
    assert text.count("plotly-graph-div") >= 12  # 3 charts x 4 trades, + compare, attribution
    for name in ("iron condor", "covered call", "bear put spread", "0DTE straddle"):
        assert name in text
    assert "P&L attribution" in result.stdout
    # the service section: the API rebuilt the condor and got the workbench's very bytes
    assert "The same job through the HTTP service" in text
    assert "yes (sha256 " in text
    assert "identical to the workbench's: yes" in result.stdout.replace("\n", " ")
    # the portfolio-risk sections of the sample book
    for title in (
        "Exposures of demo book on 2026-11-20",
        "Factor exposures and risk decomposition",
        "Value at risk and expected shortfall",
        "Stress scenarios (options fully repriced)",
        "Market Crash 35%",
        "Market regime on 2026-11-20",
        "Short-squeeze tiers",
        "What-if: cover the NVDA short",
    ):
        assert title in text, title
    # the streaming section: Greeks from the fake broker, stored and read back
    assert "Streaming Greeks from a fake broker" in text
    assert "Greeks over time: " in text
    assert "Streaming Greeks from a fake broker" in result.stdout


def test_names_with_rich_markup_are_shown_literally(db: str) -> None:
    created = run_json(db, "trade", "new", "hedge [/] [bold]x")
    shown = run(db, "trade", "show", f"draft:{created['draft_id']}")
    assert "hedge [/] [bold]x" in shown
    missing = CliRunner().invoke(app, ["trade", "show", "[/x]", "--database-url", db])
    assert missing.exit_code == 1
    assert "'[/x]'" in missing.output
