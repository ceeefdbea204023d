"""The ``signal``, ``performance`` and ``smoke`` commands through typer's runner on a migrated
SQLite file, the market pinned with ``--market-as-of`` so every price is reproducible."""

from __future__ import annotations

import csv
import io
import json
import shutil
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from riskdesk.adapters.simulated import generate_market
from riskdesk.cli import signals
from riskdesk.cli._errors import RiskdeskGroup
from riskdesk.cli.main import app as main_app
from riskdesk.cli.trading import paper_desk
from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.occ import format_occ
from riskdesk.store import Database

AS_OF = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)  # a Tuesday, 10:00 New York
MARKET = ["--market-as-of", AS_OF.isoformat(), "--seed", "7"]

# registered exactly as riskdesk.cli.main registers them
app = typer.Typer(cls=RiskdeskGroup, no_args_is_help=True)
app.add_typer(signals.signal_app, name="signal")
app.command("performance")(signals.performance_command)
app.add_typer(signals.smoke_app, name="smoke")


@pytest.fixture(scope="module")
def snapshot() -> MarketSnapshot:
    """The market ``paper_desk(seed=7, as_of=AS_OF)`` quotes."""
    return generate_market(seed=7, as_of=AS_OF, symbols=["SPY"], max_expiry_days=45)


@pytest.fixture(scope="module")
def expiry(snapshot: MarketSnapshot) -> date:
    """A SPY expiry about two weeks out (enough strikes around the money)."""
    listed = sorted(
        {q.contract.expiry for q in snapshot.options if q.contract.expiry > AS_OF.date()}
    )
    return next(d for d in listed if (d - AS_OF.date()).days >= 10)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file brought to head once by ``riskdesk db upgrade`` (copied per test)."""
    path = tmp_path_factory.mktemp("signals-template") / "paper.sqlite3"
    result = CliRunner().invoke(main_app, ["db", "upgrade", "--database-url", f"sqlite:///{path}"])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def db(migrated: Path, tmp_path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        source = migrated.with_name(migrated.name + suffix)
        if source.exists():
            shutil.copyfile(source, tmp_path / f"paper.sqlite3{suffix}")
    return f"sqlite:///{tmp_path / 'paper.sqlite3'}"


@pytest.fixture
def database(db: str) -> Iterator[Database]:
    handle = Database.from_url(db)
    try:
        yield handle
    finally:
        handle.dispose()


def invoke(db: str, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--database-url", db])


def run_json(db: str, *args: str, code: int = 0) -> Any:
    result = invoke(db, *args, "--json")
    assert result.exit_code == code, f"{args}: {result.output}"
    return json.loads(result.stdout)


def condor(db: str, expiry: date, *extra: str) -> Any:
    return run_json(
        db,
        "signal",
        "from-template",
        "iron_condor",
        "--symbol",
        "SPY",
        "--expiry",
        expiry.isoformat(),
        "--offset",
        "10",
        "--width",
        "5",
        "--confidence",
        "0.7",
        *extra,
        *MARKET,
    )


# -- signals -----------------------------------------------------------------------------------


def test_signal_from_template_with_offset_stores_a_credit_condor_with_its_figures(
    db: str, expiry: date
) -> None:
    signal = condor(db, expiry, "--qty", "2", "--expires-in", "2h")
    shown = run_json(db, "signal", "show", signal["id"])
    text = invoke(db, "signal", "show", signal["id"])

    assert [(leg["action"], leg["option_type"]) for leg in signal["legs"]] == [
        ("buy", "put"),
        ("sell", "put"),
        ("sell", "call"),
        ("buy", "call"),
    ]
    assert {leg["quantity"] for leg in signal["legs"]} == {2}
    assert signal["status"] == "active"
    assert signal["direction"] == "neutral"
    assert Decimal(signal["net_premium"]) < 0  # a credit
    assert Decimal(signal["max_profit"]) > 0
    assert Decimal(signal["max_loss"]) > 0
    assert len(signal["breakevens"]) == 2
    assert 0 < Decimal(signal["probability_of_profit"]) < 1
    generated = datetime.fromisoformat(signal["generated_at"])
    expires = datetime.fromisoformat(signal["expires_at"])
    assert (expires - generated).total_seconds() == 7200
    assert shown == signal
    assert text.exit_code == 0, text.output
    assert "probability of profit" in text.stdout
    assert "credit" in text.stdout


def test_signal_from_template_with_delta_and_long_flag_builds_the_buyer_version(
    db: str, expiry: date
) -> None:
    signal = run_json(
        db,
        "signal",
        "from-template",
        "iron_condor",
        "--symbol",
        "spy",
        "--expiry",
        expiry.isoformat(),
        "--delta",
        "0.2",
        "--wing-delta",
        "0.05",
        "--long",
        "--confidence",
        "0.5",
        *MARKET,
    )

    assert [leg["action"] for leg in signal["legs"]] == ["sell", "buy", "buy", "sell"]
    assert Decimal(signal["net_premium"]) > 0  # the buyer pays


def test_signal_new_with_hand_built_legs_prices_them_at_the_quote_mids(
    db: str, snapshot: MarketSnapshot, expiry: date
) -> None:
    spot = snapshot.underlying("SPY").spot
    calls = sorted(
        (
            q
            for q in snapshot.options
            if q.contract.expiry == expiry
            and q.contract.right is OptionRight.CALL
            and q.bid is not None
            and q.ask is not None
            and q.contract.strike >= spot
        ),
        key=lambda q: q.contract.strike,
    )
    low, high = calls[0], calls[3]

    signal = run_json(
        db,
        "signal",
        "new",
        "--symbol",
        "SPY",
        "--direction",
        "bullish",
        "--strategy",
        "my_spread",
        "--confidence",
        "0.8",
        "--leg",
        f"{format_occ(low.contract)}:buy:1",
        "--leg",
        f"{format_occ(high.contract)}:sell",
        *MARKET,
    )

    assert signal["strategy_type"] == "my_spread"
    assert [Decimal(leg["estimated_price"]) for leg in signal["legs"]] == [low.mid, high.mid]
    assert low.mid is not None
    assert high.mid is not None
    assert Decimal(signal["net_premium"]) == low.mid - high.mid
    width = (high.contract.strike - low.contract.strike) * 100
    assert Decimal(signal["max_profit"]) + Decimal(signal["max_loss"]) == width
    assert Decimal(signal["underlying_price"]) == spot


def test_signal_new_with_bad_leg_or_unquoted_contract_exits_1_naming_it(db: str) -> None:
    bad_side = invoke(
        db, "signal", "new", "--symbol", "SPY", "--direction", "neutral", "--confidence", "0.5",
        "--leg", "SPY250321C00600000:hold", *MARKET,
    )  # fmt: skip
    unquoted = invoke(
        db, "signal", "new", "--symbol", "SPY", "--direction", "neutral", "--confidence", "0.5",
        "--leg", "SPY300118C00600000:buy", *MARKET,
    )  # fmt: skip
    confidence = invoke(
        db, "signal", "new", "--symbol", "SPY", "--direction", "neutral", "--confidence", "1.5",
        "--leg", "SPY250321C00600000:buy", *MARKET,
    )  # fmt: skip

    assert bad_side.exit_code == unquoted.exit_code == confidence.exit_code == 1
    assert "buy or sell" in bad_side.stderr
    assert "does not quote" in unquoted.stderr
    assert "--confidence must be in [0, 1]" in confidence.stderr


def test_signal_from_template_with_unlisted_expiry_or_no_selection_exits_1(db: str) -> None:
    unlisted = invoke(
        db, "signal", "from-template", "strangle", "--symbol", "SPY", "--expiry", "2031-01-17",
        "--offset", "5", "--width", "1", "--confidence", "0.5", *MARKET,
    )  # fmt: skip
    no_selection = invoke(
        db, "signal", "from-template", "strangle", "--symbol", "SPY", "--expiry", "2025-03-21",
        "--confidence", "0.5", *MARKET,
    )  # fmt: skip

    assert unlisted.exit_code == no_selection.exit_code == 1
    assert "listed expiries" in unlisted.stderr
    assert "needs --delta D or --offset X --width W" in no_selection.stderr


def test_signal_list_and_cancel_with_filters_and_a_second_cancel_refused(
    db: str, expiry: date
) -> None:
    first = condor(db, expiry)
    second = condor(db, expiry)

    cancelled = run_json(db, "signal", "cancel", first["id"])
    again = invoke(db, "signal", "cancel", first["id"])
    active = run_json(db, "signal", "list", "--status", "active")
    every = run_json(db, "signal", "list", "--symbol", "SPY")
    one = run_json(db, "signal", "list", "--limit", "1")
    other = run_json(db, "signal", "list", "--symbol", "QQQ")
    unknown = invoke(db, "signal", "show", "00000000-0000-0000-0000-000000000000")

    assert cancelled["status"] == "cancelled"
    assert again.exit_code == 1
    assert "cannot change from cancelled" in again.stderr
    assert [s["id"] for s in active] == [second["id"]]
    assert {s["id"] for s in every} == {first["id"], second["id"]}
    assert len(one) == 1
    assert other == []
    assert unknown.exit_code == 1
    assert "no signal" in unknown.stderr


# -- performance -------------------------------------------------------------------------------


def test_performance_with_nav_snapshots_prints_report_and_writes_lots_csv(
    db: str, database: Database, tmp_path: Path
) -> None:
    desk = paper_desk(database, seed=7, as_of=AS_OF)
    desk.create_account("perf", Decimal(100000))
    desk.snapshot_nav("perf")
    out = tmp_path / "lots.csv"

    data = run_json(db, "performance", "--account", "perf", "--lots-csv", str(out))
    text = invoke(db, "performance", "--account", "perf", "--from", "2025-03-04")

    assert data["account"] == "perf"
    assert data["starting_nav"] == data["ending_nav"]
    assert Decimal(data["starting_nav"]) == Decimal(100000)
    assert data["total_return"] == 0.0
    assert data["tax_lots"] == []
    assert data["period_start"] == data["period_end"] == "2025-03-04"
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 1  # the header only: nothing realized
    assert text.exit_code == 0, text.output
    assert "total return" in text.stdout


def test_performance_with_no_nav_history_or_reversed_period_exits_1(
    db: str, database: Database
) -> None:
    paper_desk(database, seed=7, as_of=AS_OF).create_account("empty", Decimal(1000))

    empty = invoke(db, "performance", "--account", "empty")
    reversed_period = invoke(
        db, "performance", "--account", "empty", "--from", "2025-03-05", "--to", "2025-03-04"
    )
    unknown = invoke(db, "performance", "--account", "nobody")

    assert empty.exit_code == reversed_period.exit_code == unknown.exit_code == 1
    assert "no NAV snapshot" in empty.stderr
    assert "before --from" in reversed_period.stderr


# -- smoke runs --------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_smoke_run_with_pinned_market_passes_and_is_listed(db: str) -> None:
    run = run_json(db, "smoke", "run", *MARKET)
    text = invoke(db, "smoke", "run", *MARKET)
    listed = run_json(db, "smoke", "list")

    assert run["status"] == "passed", run
    assert run["failed_step"] is None
    assert text.exit_code == 0, text.output
    assert "passed" in text.stdout
    assert len(listed) == 2
    assert listed[1]["run_id"] == run["run_id"]


def test_smoke_run_with_unreachable_venue_is_stored_failed_and_exits_3(db: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1/health"

    run = run_json(db, "smoke", "run", "--venue-url", url, *MARKET, code=3)
    text = invoke(db, "smoke", "run", "--venue-url", url, *MARKET)
    listed = run_json(db, "smoke", "list", "--limit", "5")

    assert run["status"] == "failed"
    assert run["failed_step"] == "market"
    assert "did not answer" in run["wallet_check"]
    assert text.exit_code == 3
    assert "failed" in text.stdout
    assert [r["status"] for r in listed] == ["failed", "failed"]
