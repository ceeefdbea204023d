"""Bad input through the real CLI: one line on stderr and a non-zero exit, never a traceback;
results that could value nothing exit non-zero; model config options and files; files written
atomically; market synth prints how to regenerate what it made."""

from __future__ import annotations

import json
import shlex
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from riskdesk.cli.main import app
from riskdesk.domain.configs import AmericanModel, ModelConfig, TimeBasis, VolSource
from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.occ import format_occ, parse_occ

AS_OF = "2026-11-20T15:00:00Z"
LATER = "2027-02-19T15:00:00Z"  # after every expiry of a 30-day market made at AS_OF


def invoke(db: str, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--database-url", db])


def run_json(db: str, *args: str) -> Any:
    result = invoke(db, *args, "--json")
    assert result.exit_code == 0, f"{args}: {result.output}"
    return json.loads(result.stdout)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    return result.stderr


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('inputs') / 'cli.sqlite3'}"
    result = CliRunner().invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    return url


@pytest.fixture(scope="module")
def market(db: str) -> dict[str, Any]:
    made = run_json(db, "market", "synth", "--symbols", "SPY", "--max-days", "30", "--as-of", AS_OF)
    shown = run_json(db, "snapshot", "show", made["snapshot_hash"][:12])
    return dict(made) | {"options": shown["options"]}


def occ_of(option: dict[str, Any]) -> str:
    c = option["contract"]
    expiry = date.fromisoformat(c["expiry"])
    right = OptionRight(c["right"])
    text = f"SPY{expiry:%y%m%d}{right.value}{round(float(c['strike']) * 1000):08d}"
    return format_occ(parse_occ(text), padded=False)


def quoted(market: dict[str, Any], right: str, pick: int) -> str:
    options = [
        o
        for o in market["options"]
        if o["contract"]["right"] == right and o["bid"] is not None and float(o["bid"]) > 0
    ]
    options.sort(key=lambda o: (o["contract"]["expiry"], float(o["contract"]["strike"])))
    return occ_of(options[pick])


@pytest.fixture(scope="module")
def draft(db: str, market: dict[str, Any]) -> str:
    draft_id: str = run_json(db, "trade", "new", "inputs call")["draft_id"]
    snap = market["snapshot_hash"][:12]
    call = quoted(market, "C", -20)
    run_json(db, "trade", "add-leg", draft_id, "--occ", call, "--qty", "1", "--snapshot", snap)
    return draft_id


# -- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "rule"),
    [
        (("--qty", "1e30", "--price", "1"), "--qty"),
        (("--qty", "1", "--price", "1e20"), "--price"),
        (("--qty", "0.5", "--price", "1"), "whole"),
        (("--qty", "1_000", "--price", "1"), "not a plain decimal"),
        (("--qty", "\u0661", "--price", "1"), "not a plain decimal"),
        (("--qty", "1e-9", "--price", "1"), "9 decimal places"),
        (("--qty", "1", "--price", "nan"), "--price"),
        (("--qty", "1", "--price", "1", "--fees", "-2"), "--fees must be >= 0"),
    ],
)
def test_trade_add_leg_with_bad_number_exits_with_one_line(
    db: str, draft: str, market: dict[str, Any], args: tuple[str, ...], rule: str
) -> None:
    put = quoted(market, "P", -20)
    result = invoke(db, "trade", "add-leg", draft, "--occ", put, *args)
    assert rule in one_line_error(result)
    legs = run_json(db, "trade", "show", f"draft:{draft}")["legs"]
    assert len(legs) == 1  # nothing was added


def test_trade_add_leg_with_fractional_stock_quantity_is_accepted(
    db: str, market: dict[str, Any]
) -> None:
    draft_id = run_json(db, "trade", "new", "fractional shares")["draft_id"]
    added = run_json(
        db, "trade", "add-leg", draft_id, "--stock", "SPY", "--qty", "0.5", "--price", "600"
    )
    assert [leg["quantity"] for leg in added["legs"]] == ["0.5"]


@pytest.mark.parametrize(
    ("args", "rule"),
    [
        (("--vol-shifts", "-200:0:100"), "out of range"),
        (("--vol-shifts", "-10:10:1e-9"), "at most"),
        (("--spot-range", "nan"), "--spot-range"),
        (("--spot-range", "20", "--sigmas", "2"), "at most one"),
        (("--spot-steps", "1_000"), "--spot-steps"),
        (("--dates", "2.5"), "--dates"),
        (("--vol-source", "chain"), "--vol-source must be one of"),
        (("--american-model", "binomial"), "--american-model"),
    ],
)
def test_evaluate_with_bad_option_exits_with_one_line(
    db: str, draft: str, args: tuple[str, ...], rule: str
) -> None:
    assert rule in one_line_error(invoke(db, "evaluate", f"draft:{draft}", *args))


@pytest.mark.parametrize(
    ("args", "rule"),
    [
        (("--rate", "nan"), "--rate"),
        (("--rate", "1e308"), "|rate| <= 1"),
        (("--borrow", "SPY=inf"), "--borrow SPY"),
        (("--div-yield", "SPY=1_0"), "--div-yield SPY"),
        (("--seed", "\u0667"), "--seed"),
        (("--max-days", "-1"), "--max-days"),
    ],
)
def test_snapshot_create_with_bad_number_exits_with_one_line(
    db: str, args: tuple[str, ...], rule: str
) -> None:
    before = run_json(db, "snapshot", "list")
    result = invoke(db, "snapshot", "create", "--symbols", "SPY", "--max-days", "10", *args)
    assert rule in one_line_error(result)
    assert run_json(db, "snapshot", "list") == before


def test_snapshot_refresh_with_fractional_minutes_exits_with_one_line(db: str) -> None:
    assert "--minutes" in one_line_error(invoke(db, "snapshot", "refresh", "--minutes", "0.5"))


def test_attribute_with_non_positive_days_exits_with_one_line(db: str, draft: str) -> None:
    result = invoke(db, "attribute", f"draft:{draft}", "--base", "latest", "--days", "-1")
    assert "--days" in one_line_error(result)


# -- results that value nothing ----------------------------------------------------------------


@pytest.fixture(scope="module")
def later(db: str) -> str:
    made = run_json(db, "market", "synth", "--symbols", "SPY", "--max-days", "30", "--as-of", LATER)
    return str(made["snapshot_hash"][:12])


def test_evaluate_with_every_leg_expired_prints_errors_and_exits_nonzero(
    db: str, draft: str, later: str
) -> None:
    table = invoke(db, "evaluate", f"draft:{draft}", "--snapshot", later)
    assert "no_valued_legs" in table.stdout  # the errors table comes first
    assert "no_valued_legs" in one_line_error(table)
    as_json = invoke(db, "evaluate", f"draft:{draft}", "--snapshot", later, "--json")
    assert one_line_error(as_json)
    assert [e["code"] for e in json.loads(as_json.stdout)["errors"]] == ["no_valued_legs"]


def test_compare_with_side_valuing_nothing_exits_nonzero(db: str, draft: str, later: str) -> None:
    stock = run_json(db, "trade", "new", "stock only")["draft_id"]
    run_json(db, "trade", "add-leg", stock, "--stock", "SPY", "--qty", "10", "--price", "600")
    result = invoke(db, "compare", f"draft:{stock}", f"draft:{draft}", "--snapshot", later)
    assert "trade B failed: no_valued_legs" in one_line_error(result)


def test_attribute_with_nothing_attributable_exits_nonzero(db: str, draft: str, later: str) -> None:
    result = invoke(db, "attribute", f"draft:{draft}", "--base", later, "--days", "1")
    assert "attribution failed" in one_line_error(result)


def test_evaluate_with_valued_legs_exits_zero(db: str, draft: str, market: dict[str, Any]) -> None:
    data = run_json(db, "evaluate", f"draft:{draft}", "--snapshot", market["snapshot_hash"][:12])
    assert data["errors"] == []


# -- model config ------------------------------------------------------------------------------


def test_evaluate_with_model_options_stores_that_model_config(
    db: str, draft: str, market: dict[str, Any]
) -> None:
    data = run_json(
        db,
        "evaluate",
        f"draft:{draft}",
        "--snapshot",
        market["snapshot_hash"][:12],
        "--american-model",
        "european",
        "--time-basis",
        "trading",
        "--vol-source",
        "raw",
    )
    expected = ModelConfig(
        american_model=AmericanModel.BSM, time_basis=TimeBasis.TRADING, vol_source=VolSource.MID_IV
    )
    assert data["inputs"]["model_config_hash"] == expected.model_config_hash


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("model.json", json.dumps({"american_model": "bsm", "theta_convention": "trading_day"})),
        ("model.toml", 'american_model = "bsm"\ntheta_convention = "trading_day"\n'),
    ],
)
def test_evaluate_with_config_file_uses_its_fields(
    db: str, draft: str, market: dict[str, Any], tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    snap = market["snapshot_hash"][:12]
    data = run_json(db, "evaluate", f"draft:{draft}", "--snapshot", snap, "--config", str(path))
    expected = ModelConfig(american_model=AmericanModel.BSM, theta_convention="trading_day")  # type: ignore[arg-type]
    assert data["inputs"]["model_config_hash"] == expected.model_config_hash
    attributed = invoke(
        db, "attribute", f"draft:{draft}", "--base", snap, "--days", "1", "--config", str(path)
    )
    assert attributed.exit_code == 0, attributed.output


def test_evaluate_with_unknown_config_key_exits_naming_it(
    db: str, draft: str, tmp_path: Path
) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"american_model": "bsm", "engine_name": "x"}))
    result = invoke(db, "evaluate", f"draft:{draft}", "--config", str(path))
    assert "unknown key(s) engine_name" in one_line_error(result)


# -- market synth and files --------------------------------------------------------------------


def test_market_synth_without_as_of_prints_command_that_regenerates_it(db: str) -> None:
    made = run_json(db, "market", "synth", "--seed", "11", "--symbols", "QQQ", "--max-days", "9")
    regenerate = made["regenerate"]
    assert regenerate.startswith("riskdesk market synth --seed 11 --as-of ")
    assert made["as_of"] in regenerate
    args = shlex.split(regenerate)[1:]
    again = run_json(db, *args)
    assert again["snapshot_hash"] == made["snapshot_hash"]
    assert again["created"] is False
    table = invoke(db, *args)
    assert table.exit_code == 0
    assert "regenerate with: riskdesk market synth --seed 11" in table.stdout


def test_market_synth_with_out_replaces_files_atomically(db: str, tmp_path: Path) -> None:
    out = tmp_path / "chain.csv"
    out.write_text("old chain\n")
    reader = tmp_path / "open-by-a-reader.csv"
    reader.hardlink_to(out)
    result = invoke(
        db, "market", "synth", "--symbols", "SPY", "--max-days", "9", "--as-of", AS_OF,
        "--out", str(out), "--no-store",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "strike" in out.read_text().splitlines()[0]  # the new chain
    assert reader.read_text() == "old chain\n"  # renamed over, never rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "chain.csv",
        "chain_underlyings.csv",
        "open-by-a-reader.csv",
    ]


def test_market_import_with_header_only_file_exits_nonzero_and_stores_nothing(
    db: str, tmp_path: Path
) -> None:
    out = tmp_path / "chain.csv"
    made = invoke(
        db, "market", "synth", "--symbols", "SPY", "--max-days", "9", "--as-of", AS_OF,
        "--out", str(out), "--no-store",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    out.write_text(out.read_text().splitlines()[0] + "\n")  # the header only
    before = run_json(db, "snapshot", "list")
    result = invoke(
        db, "market", "import", str(out),
        "--underlyings", str(tmp_path / "chain_underlyings.csv"), "--as-of", AS_OF,
    )  # fmt: skip
    one_line_error(result)
    assert run_json(db, "snapshot", "list") == before


def test_market_import_with_bad_rate_exits_with_one_line(db: str, tmp_path: Path) -> None:
    path = tmp_path / "chain.csv"
    path.write_text("x\n")
    result = invoke(db, "market", "import", str(path), "--rate", "inf")
    assert "--rate" in one_line_error(result)
