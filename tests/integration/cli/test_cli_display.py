"""What the real CLI shows: prices at tick precision, carry per underlying, the chain filter of
``snapshot show --json``, legs in the order entered, warnings, axis units and the default axis."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from riskdesk.cli.main import app
from riskdesk.domain.configs import ScenarioGrid
from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.occ import format_occ, parse_occ

AS_OF = "2026-11-20T15:00:00Z"


def invoke(db: str, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--database-url", db])


def run(db: str, *args: str) -> str:
    result = invoke(db, *args)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.stdout


def run_json(db: str, *args: str) -> Any:
    return json.loads(run(db, *args, "--json"))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('display') / 'cli.sqlite3'}"
    result = CliRunner().invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    return url


@pytest.fixture(scope="module")
def snap(db: str) -> dict[str, Any]:
    made = run_json(
        db, "snapshot", "create", "--symbols", "SPY,QQQ", "--max-days", "40", "--as-of", AS_OF,
        "--div-yield", "SPY=0.02", "--borrow", "SPY=0.0125",
    )  # fmt: skip
    return dict(run_json(db, "snapshot", "show", made["snapshot_hash"][:12]))


def occ_of(option: dict[str, Any]) -> str:
    c = option["contract"]
    expiry = date.fromisoformat(c["expiry"])
    text = (
        f"{c['underlying']}{expiry:%y%m%d}{OptionRight(c['right']).value}"
        f"{round(float(c['strike']) * 1000):08d}"
    )
    return format_occ(parse_occ(text), padded=False)


def _two_dp(text: str) -> str:
    """Independent rendering of an exact decimal: its digits, at least two places."""
    value = Decimal(text)
    places = max(2, -value.normalize().as_tuple().exponent)  # type: ignore[operator]
    return f"{value:,.{places}f}"


def test_snapshot_show_with_chain_shows_prices_at_tick_precision(
    db: str, snap: dict[str, Any]
) -> None:
    out = run(db, "snapshot", "show", snap["snapshot_hash"][:12], "--chain", "SPY")
    assert "E-" not in out
    assert not re.search(r"\d\.\d*0000\b", out)  # no storage padding such as 601.06000000
    spy = next(u for u in snap["underlyings"] if u["symbol"] == "SPY")
    assert _two_dp(spy["spot"]) in out
    zero_bids = [o for o in snap["options"] if o["bid"] is not None and Decimal(o["bid"]) == 0]
    assert zero_bids, "the synthetic market has zero bids"
    assert "0.00" in out
    half_tick = next(o for o in snap["options"] if Decimal(o["mark"]).as_tuple().exponent == -3)
    assert _two_dp(half_tick["mark"]) in out  # e.g. a 0.005 mark keeps its third place


def test_snapshot_show_with_chain_json_keeps_only_that_chain_with_carry(
    db: str, snap: dict[str, Any]
) -> None:
    ref = snap["snapshot_hash"][:12]
    qqq = run_json(db, "snapshot", "show", ref, "--chain", "qqq")
    assert qqq["chain"] == "QQQ"
    assert [u["symbol"] for u in qqq["underlyings"]] == ["QQQ"]
    assert qqq["options"]
    assert {o["contract"]["underlying"] for o in qqq["options"]} == {"QQQ"}
    expected_qqq = [o for o in snap["options"] if o["contract"]["underlying"] == "QQQ"]
    assert qqq["options"] == expected_qqq
    spy = run_json(db, "snapshot", "show", ref, "--chain", "SPY")["carry"]["SPY"]
    assert spy["dividend_yield"] == 0.02
    assert spy["borrow_rate"] == 0.0125
    assert spy["carry_yield"] == pytest.approx(0.0325)
    whole = run_json(db, "snapshot", "show", ref)
    assert set(whole["carry"]) == {"SPY", "QQQ"}
    assert len(whole["options"]) == len(snap["options"])


def test_snapshot_show_with_carry_overrides_shows_carry_columns(
    db: str, snap: dict[str, Any]
) -> None:
    out = run(db, "snapshot", "show", snap["snapshot_hash"][:12])
    spy_row = next(line for line in out.splitlines() if "│ SPY" in line)
    assert "2.00%" in spy_row
    assert "1.25%" in spy_row
    assert "3.25%" in spy_row


def test_snapshot_show_with_unknown_chain_exits_with_one_line(
    db: str, snap: dict[str, Any]
) -> None:
    result = invoke(db, "snapshot", "show", snap["snapshot_hash"][:12], "--chain", "TSLA")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "TSLA" in result.stderr


def test_snapshot_list_with_stored_snapshot_shows_time_zone(db: str, snap: dict[str, Any]) -> None:
    assert "2026-11-20 15:00 UTC" in run(db, "snapshot", "list")


@pytest.fixture(scope="module")
def legs_entered(db: str, snap: dict[str, Any]) -> tuple[str, list[str]]:
    """A draft whose legs were entered out of any sorted order: stock, far call, near put."""
    spy = sorted(
        (
            o
            for o in snap["options"]
            if o["contract"]["underlying"] == "SPY" and o["bid"] and Decimal(o["bid"]) > 0
        ),
        key=lambda o: (o["contract"]["expiry"], Decimal(o["contract"]["strike"])),
    )
    far_call = next(o for o in reversed(spy) if o["contract"]["right"] == "C")
    near_put = next(o for o in spy if o["contract"]["right"] == "P")
    draft_id = run_json(db, "trade", "new", "order check")["draft_id"]
    ref = snap["snapshot_hash"][:12]
    run_json(db, "trade", "add-leg", draft_id, "--stock", "SPY", "--qty", "100", "--price", "600.5")
    run_json(
        db,
        "trade",
        "add-leg",
        draft_id,
        "--occ",
        occ_of(far_call),
        "--qty",
        "-1",
        "--snapshot",
        ref,
    )
    run_json(
        db, "trade", "add-leg", draft_id, "--occ", occ_of(near_put), "--qty", "1", "--snapshot", ref
    )
    order = ["STK:SPY", far_call["contract"]["strike"], near_put["contract"]["strike"]]
    return draft_id, order


def _positions(text: str, needles: list[str]) -> list[int]:
    return [text.index(n) for n in needles]


def test_draft_and_version_with_unsorted_legs_show_them_in_entry_order(
    db: str, legs_entered: tuple[str, list[str]], snap: dict[str, Any]
) -> None:
    draft_id, order = legs_entered
    draft = run_json(db, "trade", "show", f"draft:{draft_id}")
    kinds = [leg["instrument"]["type"] for leg in draft["legs"]]
    assert kinds == ["STOCK", "OPTION", "OPTION"]
    table = run(db, "trade", "show", f"draft:{draft_id}")
    assert "600.50" in table  # entry price at tick precision, not 600.50000000
    trade_hash = run_json(db, "trade", "commit", draft_id)["trade_hash"]
    version = run_json(db, "trade", "show", trade_hash[:12])
    assert [leg["instrument"]["type"] for leg in version["legs"]] == kinds
    shown = run(db, "trade", "show", trade_hash[:12])
    labels = [line for line in shown.splitlines() if "@" in line]
    assert "STK:SPY" in labels[0]
    evaluated = run_json(db, "evaluate", trade_hash[:12], "--snapshot", snap["snapshot_hash"][:12])
    assert [leg["label"].split()[1].split(":")[0] for leg in evaluated["legs"]] == [
        "STK",
        "SPY",
        "SPY",
    ]
    strikes = [leg["label"] for leg in evaluated["legs"][1:]]
    assert f":{Decimal(order[1]).normalize():f}:C" in strikes[0]
    assert f":{Decimal(order[2]).normalize():f}:P" in strikes[1]


def test_evaluate_with_vol_shift_below_floor_shows_warnings_in_table(
    db: str, legs_entered: tuple[str, list[str]], snap: dict[str, Any]
) -> None:
    draft_id, _ = legs_entered
    args = ("evaluate", f"draft:{draft_id}", "--snapshot", snap["snapshot_hash"][:12])
    shifts = ("--vol-shifts", "-60:0:20")
    data = run_json(db, *args, *shifts)
    codes = {w["code"] for w in data["warnings"]}
    assert codes, "a -60 point shift floors the vols: the result must say so"
    table = run(db, *args, *shifts)
    assert "warnings" in table
    for code in codes:
        assert code in table


def test_evaluate_with_no_axis_option_uses_domain_default_axis_with_units(
    db: str, legs_entered: tuple[str, list[str]], snap: dict[str, Any]
) -> None:
    draft_id, _ = legs_entered
    args = ("evaluate", f"draft:{draft_id}", "--snapshot", snap["snapshot_hash"][:12])
    data = run_json(db, *args)
    default = ScenarioGrid()
    assert data["grid"]["spot_range_kind"] == default.spot_range_kind.value
    assert data["grid"]["spot_moves"] == pytest.approx(list(default.spot_moves()))
    table = run(db, *args)
    assert "P/L ($)" in table
    assert "spot in $" in table
    assert "date (UTC)" in table
    assert re.search(r"\d\d-\d\d \d\d:\d\dZ", table)  # dates carry their zone
    pct = run_json(db, *args, "--spot-range", "5")
    assert pct["grid"]["spot_range_kind"] == "PERCENT"
    assert max(pct["grid"]["spot_moves"]) == pytest.approx(5.0)
