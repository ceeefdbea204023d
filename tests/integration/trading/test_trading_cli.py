"""The paper-trading CLI (``account``, ``order``, ``positions``, ``killswitch``, ``nav``,
``reconcile``) through typer's runner on a migrated SQLite file, the market pinned with
``--market-as-of`` so every price is reproducible."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from riskdesk.adapters.simulated import generate_market
from riskdesk.cli import trading
from riskdesk.cli._errors import RiskdeskGroup
from riskdesk.cli.main import app as main_app
from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.market import MarketSnapshot, OptionQuote
from riskdesk.domain.occ import format_occ
from riskdesk.store import Database
from riskdesk.trading.signal_book import SignalBook
from riskdesk.trading.signals import ByOffset, build_signal

AS_OF = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)  # a Tuesday, 10:00 New York
MARKET = ["--market-as-of", AS_OF.isoformat(), "--seed", "7"]

# registered exactly as riskdesk.cli.main registers them
app = typer.Typer(cls=RiskdeskGroup, no_args_is_help=True)
app.add_typer(trading.account_app, name="account")
app.add_typer(trading.order_app, name="order")
app.add_typer(trading.killswitch_app, name="killswitch")
app.command("positions")(trading.positions_command)
app.command("nav")(trading.nav_command)
app.command("reconcile")(trading.reconcile_command)


@pytest.fixture(scope="module")
def snapshot() -> MarketSnapshot:
    return generate_market(seed=7, as_of=AS_OF, symbols=["SPY"], max_expiry_days=45)


def _quoted(snapshot: MarketSnapshot) -> list[OptionQuote]:
    return [
        q
        for q in snapshot.options
        if q.bid is not None
        and q.ask is not None
        and q.bid > 0
        and q.ask > q.bid
        and q.contract.expiry > AS_OF.date()
    ]


@pytest.fixture(scope="module")
def call(snapshot: MarketSnapshot) -> OptionQuote:
    """A near-the-money SPY call expiring after today, quoted on both sides."""
    spot = snapshot.underlying("SPY").spot
    calls = [q for q in _quoted(snapshot) if q.contract.right is OptionRight.CALL]
    return min(calls, key=lambda q: (abs(q.contract.strike - spot), q.contract.expiry))


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file brought to head once by ``riskdesk db upgrade`` (copied per test)."""
    path = tmp_path_factory.mktemp("paper-template") / "paper.sqlite3"
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


def invoke(db: str, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--database-url", db])


def run_json(db: str, *args: str, code: int = 0) -> Any:
    result = invoke(db, *args, "--json")
    assert result.exit_code == code, f"{args}: {result.output}"
    return json.loads(result.stdout)


def chain(events: list[dict[str, Any]]) -> list[str]:
    """The statuses an order went through, following each event's from -> to link.

    (Events stored in the same instant have no order between them: follow the links.)
    """
    by_from = {e["from"]: e["to"] for e in events}
    assert len(by_from) == len(events), events
    out: list[str] = []
    status = None
    while status in by_from:
        status = by_from[status]
        out.append(status)
    assert len(out) == len(events), events
    return out


def submit_text(db: str, *args: str) -> Result:
    """``order submit --account acct ARGS`` on the pinned market, without --json."""
    return invoke(db, "order", "submit", "--account", "acct", *args, *MARKET)


def occ(quote: OptionQuote) -> str:
    return format_occ(quote.contract)


def buy(db: str, symbol: str, *extra: str, code: int = 0, qty: str = "1") -> Any:
    return run_json(
        db,
        "order",
        "submit",
        "--account",
        "acct",
        "--occ",
        symbol,
        "--side",
        "buy",
        "--qty",
        qty,
        *MARKET,
        *extra,
        code=code,
    )


def test_market_buy_with_listed_option_fills_and_shows_position(db: str, call: OptionQuote) -> None:
    created = run_json(db, "account", "create", "acct", "--cash", "100000")
    assert (created["name"], created["cash"]) == ("acct", "100000.00")

    result = buy(db, occ(call), "--qty", "2")

    order = result["order"]
    assert result["accepted"] is True
    assert result["code"] is None
    assert (order["status"], order["filled_qty"]) == ("filled", 2)
    assert Decimal(order["fills"][0]["fill_price"]) == call.ask
    positions = run_json(db, "positions", "--account", "acct")
    assert [(p["symbol"], p["qty"]) for p in positions] == [(occ(call), "2")]
    shown = run_json(db, "order", "show", order["order_id"])
    assert chain(shown["events"]) == ["proposed", "approved", "submitted", "filled"]
    nav = run_json(db, "nav", "--account", "acct", *MARKET)
    assert Decimal(nav["cash"]) + Decimal(nav["positions_value"]) == Decimal(nav["nav"])
    assert Decimal(nav["cash"]) == Decimal(100000) - 2 * 100 * call.ask
    account = run_json(db, "account", "show", "acct")
    assert account["positions"][0]["symbol"] == occ(call)
    reconciled = run_json(db, "reconcile", "--account", "acct")
    assert reconciled["ok"] is True
    assert all(c["ok"] for c in reconciled["checks"])


def test_limit_order_with_price_below_bid_rests_then_cancels(db: str, call: OptionQuote) -> None:
    run_json(db, "account", "create", "acct", "--cash", "100000")

    resting = buy(db, occ(call), "--type", "limit", "--limit", "0.01", "--tif", "gtc")

    order_id = resting["order"]["order_id"]
    assert resting["order"]["status"] == "submitted"
    listed = run_json(db, "order", "list", "--account", "acct", "--status", "submitted")
    assert [o["order_id"] for o in listed] == [order_id]
    cancelled = run_json(db, "order", "cancel", order_id, *MARKET)
    assert cancelled["status"] == "cancelled"
    assert run_json(db, "order", "list", "--account", "acct", "--status", "submitted") == []
    again = invoke(db, "order", "cancel", order_id, *MARKET)
    assert again.exit_code == 1
    assert "nothing to cancel" in again.stderr
    assert run_json(db, "positions", "--account", "acct") == []


def test_order_submit_with_same_idempotency_key_replays_one_order(
    db: str, call: OptionQuote
) -> None:
    run_json(db, "account", "create", "acct", "--cash", "100000")

    first = buy(db, occ(call), "--idempotency-key", "k-1")
    second = buy(db, occ(call), "--idempotency-key", "k-1")

    assert second["replayed"] is True
    assert second["order"]["order_id"] == first["order"]["order_id"]
    assert len(run_json(db, "order", "list", "--account", "acct")) == 1
    conflict = buy(db, occ(call), "--idempotency-key", "k-1", "--qty", "3", code=3)
    assert conflict["code"] == "IDEMPOTENCY_KEY_REUSED"
    plain = submit_text(
        db, "--occ", occ(call), "--side", "buy", "--qty", "3", "--idempotency-key", "k-1"
    )
    assert plain.exit_code == 3
    assert "IDEMPOTENCY_KEY_REUSED" in plain.stderr
    assert len(run_json(db, "order", "list", "--account", "acct")) == 1


def test_order_submit_with_tiny_max_order_size_exits_three_risk_blocked(
    db: str, call: OptionQuote
) -> None:
    run_json(db, "account", "create", "acct", "--cash", "100000")
    policy = run_json(db, "account", "policy", "acct", "--set", "max_order_size=1")
    assert policy == {
        "max_order_size": {"type": "absolute", "value": policy["max_order_size"]["value"]}
    }
    assert Decimal(policy["max_order_size"]["value"]) == 1

    blocked = buy(db, occ(call), code=3)

    assert blocked["code"] == "RISK_BLOCKED"
    assert blocked["order"]["status"] == "rejected"
    rules = [c["rule"] for c in blocked["checks"] if c["action"] == "blocked"]
    assert rules == ["max_order_size"]
    text = submit_text(db, "--occ", occ(call), "--side", "buy", "--qty", "1")
    assert text.exit_code == 3
    assert "RISK_BLOCKED" in text.stderr
    assert "max_order_size" in text.stdout
    listed = run_json(db, "order", "list", "--account", "acct", "--status", "rejected")
    assert len(listed) == 2
    assert {o["code"] for o in listed} == {"RISK_BLOCKED"}
    cleared = run_json(db, "account", "policy", "acct", "--clear", "max_order_size")
    assert cleared == {}
    assert buy(db, occ(call))["order"]["status"] == "filled"


def test_killswitch_with_manual_on_refuses_orders_until_off(db: str, call: OptionQuote) -> None:
    run_json(db, "account", "create", "acct", "--cash", "100000")
    resting = buy(db, occ(call), "--type", "limit", "--limit", "0.01", "--tif", "gtc")

    on = run_json(db, "killswitch", "on", "--reason", "fire drill", "--actor", "alice", *MARKET)

    assert (on["enabled"], on["cancelled_orders"]) == (True, 1)
    cancelled = run_json(db, "order", "show", resting["order"]["order_id"])
    assert cancelled["status"] == "cancelled"
    refused = buy(db, occ(call), code=3)
    assert refused["code"] == "KILL_SWITCH_ACTIVE"
    assert "fire drill" in refused["message"]
    text = submit_text(db, "--occ", occ(call), "--side", "buy", "--qty", "1")
    assert text.exit_code == 3
    assert "KILL_SWITCH_ACTIVE" in text.stderr
    status = run_json(db, "killswitch", "status")
    assert (status["enabled"], status["reason"], status["actor"]) == (True, "fire drill", "alice")
    assert [h["enabled"] for h in status["history"]] == [True]
    shown = invoke(db, "killswitch", "status")
    assert shown.exit_code == 0
    assert "fire drill" in shown.stdout
    assert "alice" in shown.stdout

    off = run_json(db, "killswitch", "off", "--reason", "drill over", "--actor", "bob", *MARKET)

    assert off["enabled"] is False
    status = run_json(db, "killswitch", "status")
    assert status["enabled"] is False
    assert [(h["enabled"], h["actor"]) for h in status["history"]] == [
        (False, "bob"),
        (True, "alice"),
    ]
    assert buy(db, occ(call))["order"]["status"] == "filled"
    assert run_json(db, "reconcile", "--account", "acct")["ok"] is True


def test_vertical_spread_with_credit_limit_fills_both_legs(
    db: str, snapshot: MarketSnapshot, call: OptionQuote
) -> None:
    run_json(db, "account", "create", "acct", "--cash", "100000")
    chain = sorted(
        (
            q
            for q in _quoted(snapshot)
            if q.contract.expiry == call.contract.expiry
            and q.contract.right is call.contract.right
            and q.contract.strike > call.contract.strike
        ),
        key=lambda q: q.contract.strike,
    )
    assert call.bid is not None
    short, long = call, next(q for q in chain if q.ask is not None and call.bid - q.ask > 0)
    assert long.ask is not None
    touch = call.bid - long.ask  # the credit at the touch
    limit = str((touch - Decimal("0.01")).quantize(Decimal("0.01")))

    spread = [f"--leg={occ(short)}:sell:1", f"--leg={occ(long)}:buy:1", "--credit"]
    order_args = ["--qty", "1", "--type", "limit", "--limit", limit, "--tif", "day", *MARKET]
    result = run_json(db, "order", "submit", "--account", "acct", *spread, *order_args)

    order = result["order"]
    assert order["status"] == "filled"
    assert {(leg["symbol"], leg["side"]) for leg in order["legs"]} == {
        (occ(short), "sell"),
        (occ(long), "buy"),
    }
    assert Decimal(order["limit_price"]) == -Decimal(limit)  # a credit is a negative net
    assert Decimal(order["avg_fill_price"]) <= -Decimal(limit)
    held = {p["symbol"]: p["qty"] for p in run_json(db, "positions", "--account", "acct")}
    assert held == {occ(short): "-1", occ(long): "1"}
    assert run_json(db, "reconcile", "--account", "acct")["ok"] is True


def test_order_submit_with_bad_inputs_exits_one_naming_the_option(
    db: str, call: OptionQuote
) -> None:
    run_json(db, "account", "create", "acct", "--cash", "100000")
    compact = format_occ(call.contract, padded=False)  # the CLI takes either OCC form
    cases = [
        (f"--occ {compact} --side hold --qty 1", "--side must be buy or sell"),
        (f"--occ {compact} --side buy --qty 0", "--qty"),
        (f"--occ {compact} --side buy --qty 1 --type limit", "needs --limit"),
        (f"--occ {compact} --side buy --qty 1 --stop 2", "takes no --stop"),
        ("--leg SPY --qty 1", "SYMBOL:buy|sell"),
        (f"--occ {compact} --side buy --qty 1 --type limit --limit 1 --credit", "multi-leg"),
        (f"--occ {compact} --side buy --qty 1 --tif week", "--tif must be one of"),
        ("--qty 1", "an order needs --occ"),
    ]
    for args, needle in cases:
        result = submit_text(db, *args.split())
        assert result.exit_code == 1, (args, result.output)
        assert needle in result.stderr, (args, result.stderr)
    order = ["--occ", compact, "--side", "buy", "--qty", "1", *MARKET]
    missing = invoke(db, "order", "submit", "--account", "nobody", *order)
    assert missing.exit_code == 1
    assert "no trading account 'nobody'" in missing.stderr
    assert run_json(db, "order", "list") == []


def test_trading_commands_with_text_output_render_tables(
    db: str, call: OptionQuote, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trading.console, "_width", 200)  # no wrapped cells
    assert invoke(db, "account", "create", "acct", "--cash", "100000").exit_code == 0
    policy = invoke(db, "account", "policy", "acct", "--set", "max_order_size=5:percentage")
    assert policy.exit_code == 0
    assert "percentage" in policy.stdout
    filled = submit_text(db, "--occ", occ(call), "--side", "buy", "--qty", "2")
    assert filled.exit_code == 0
    assert "filled 2 at" in filled.stdout
    resting = submit_text(
        db, "--occ", occ(call), "--side", "sell", "--qty", "1", "--type", "limit",
        "--limit", "99", "--tif", "gtc",
    )  # fmt: skip
    assert resting.exit_code == 0
    assert "submitted" in resting.stdout
    order_id = run_json(db, "order", "list", "--status", "submitted")[0]["order_id"]

    outputs = {
        "account list": invoke(db, "account", "list"),
        "account show": invoke(db, "account", "show", "acct"),
        "order list": invoke(db, "order", "list", "--account", "acct"),
        "order show": invoke(db, "order", "show", order_id),
        "positions": invoke(db, "positions"),
        "nav": invoke(db, "nav", "--account", "acct", *MARKET),
        "reconcile": invoke(db, "reconcile", "--account", "acct"),
        "killswitch status": invoke(db, "killswitch", "status"),
    }

    for name, result in outputs.items():
        assert result.exit_code == 0, (name, result.output)
    assert "100,000.00" in outputs["account list"].stdout
    assert "max_order_size" in outputs["account show"].stdout
    assert "99.00 cr" in outputs["order list"].stdout  # a sell limit receives a credit
    assert "status history" in outputs["order show"].stdout
    assert "open positions" in outputs["positions"].stdout
    assert "positions value" in outputs["nav"].stdout
    assert "reconciled" in outputs["reconcile"].stdout
    assert "kill switch off" in outputs["killswitch status"].stdout


def test_order_submit_with_paper_seed_env_quotes_that_market(db: str) -> None:
    other = generate_market(seed=8, as_of=AS_OF, symbols=["SPY"], max_expiry_days=45)
    quote = _quoted(other)[len(_quoted(other)) // 2]
    run_json(db, "account", "create", "acct", "--cash", "100000")
    args = ["order", "submit", "--account", "acct", "--occ", occ(quote), "--side", "buy"]
    pinned = ["--qty", "1", "--market-as-of", AS_OF.isoformat(), "--json"]

    result = CliRunner().invoke(
        app, [*args, *pinned, "--database-url", db], env={"RISKDESK_PAPER_SEED": "8"}
    )

    assert result.exit_code == 0, result.output
    assert Decimal(json.loads(result.stdout)["order"]["fills"][0]["fill_price"]) == quote.ask
    bad_seed = invoke(db, *args, "--qty", "1", "--seed", "-1")
    assert bad_seed.exit_code == 1
    assert "--seed" in bad_seed.stderr
    naive = invoke(db, "nav", "--account", "acct", "--market-as-of", "2025-03-04T15:00:00")
    assert naive.exit_code == 1
    assert "has no timezone" in naive.stderr


def test_order_submit_with_signal_trades_its_legs_and_marks_it_executed(
    db: str, snapshot: MarketSnapshot, call: OptionQuote
) -> None:
    draft = build_signal(
        "iron_condor",
        snapshot,
        symbol="SPY",
        expiry=call.contract.expiry,
        selection=ByOffset(offset=Decimal(5), width=Decimal(5)),
        confidence=Decimal("0.8"),
        generated_at=AS_OF,
        expires_at=AS_OF + timedelta(hours=1),
    )
    database = Database.from_url(db)
    try:
        stored = SignalBook(database).store(draft)
    finally:
        database.dispose()
    run_json(db, "account", "create", "acct", "--cash", "100000")
    args = ["--account", "acct", "--signal", str(stored.id), "--type", "market", *MARKET]

    result = run_json(db, "order", "submit", *args)

    order = result["order"]
    assert order["status"] == "filled"
    assert order["signal_id"] == str(stored.id)
    assert {leg["symbol"] for leg in order["legs"]} == {leg.occ_symbol for leg in draft.legs}
    again = invoke(db, "order", "submit", *args)
    assert again.exit_code == 1
    assert "only an active signal can be traded" in again.stderr
    mixed = invoke(db, "order", "submit", *args, "--limit", "1")
    assert mixed.exit_code == 1
    assert "drop --limit" in mixed.stderr
