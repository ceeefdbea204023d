"""Workbench commands: market, snapshot, trade, evaluate, compare, attribute."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskdesk.cli import _render
from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    analysis_inputs,
    atomic_output,
    console,
    fail,
    fail_on_result_errors,
    model_config_from_options,
    model_option_help,
    open_db,
    parse_amount,
    parse_as_of,
    parse_number,
    parse_rate,
    parse_symbol_map,
    parse_whole,
    print_json,
    user_errors,
)
from riskdesk.domain.instruments import Instrument, OptionContract, Stock
from riskdesk.domain.market import MarketOverrides, MarketSnapshot, SnapshotMode
from riskdesk.domain.occ import parse_occ
from riskdesk.domain.sources import MarketSource
from riskdesk.domain.trades import TradeDraft
from riskdesk.workbench import SnapshotRef, Workbench
from riskdesk.workbench.snapshots import take_snapshot

market_app = typer.Typer(
    no_args_is_help=True, help="Market data: synthetic generator, file import."
)
snapshot_app = typer.Typer(no_args_is_help=True, help="Market snapshots: create, pin, show, list.")
trade_app = typer.Typer(no_args_is_help=True, help="Trade drafts and committed versions.")

MAX_SEED = 2**63 - 1
MAX_DAYS = 3650
MAX_MINUTES = 525_600  # a year

# Model options: None means "not given" (the --config file's value, else ModelConfig's default).
VolSourceOption = typer.Option(
    None,
    "--vol-source",
    help=model_option_help(
        "vol_source",
        "Leg vols: mid (IV solved from each quote's mid; raw is its old name), provider (the "
        "chain's own IV), surface (fitted SVI).",
    ),
)
EngineOption = typer.Option(
    None, "--engine", help=model_option_help("american_engine", "Engine of the American model.")
)
AmericanModelOption = typer.Option(
    None,
    "--american-model",
    help=model_option_help(
        "american_model",
        "Model of American legs: american, or european/bsm (no early exercise, a lower bound).",
    ),
)
EuropeanModelOption = typer.Option(
    None, "--european-model", help=model_option_help("european_model", "Model of European legs.")
)
UnknownStyleOption = typer.Option(
    None,
    "--unknown-style",
    help=model_option_help("unknown_style_as", "Price legs of unknown exercise style as."),
)
TimeBasisOption = typer.Option(
    None,
    "--time-basis",
    help=model_option_help("time_basis", "Time to expiry: calendar (ACT/365F) or trading days."),
)
ThetaOption = typer.Option(
    None,
    "--theta",
    help=model_option_help("theta_convention", "Theta per calendar day or per trading day."),
)
IvPriceSourceOption = typer.Option(
    None,
    "--iv-price-source",
    help=model_option_help("iv_price_source", "Quote price implied vols are solved from."),
)
PricingModeOption = typer.Option(
    None,
    "--pricing-mode",
    help=model_option_help("pricing_mode", "How option legs are marked for value."),
)
ConfigOption = typer.Option(
    None,
    "--config",
    help="Model config file (.json, or .toml) with ModelConfig fields, e.g. "
    '{"american_model": "bsm", "time_basis": "trading"}; options given here override it.',
)
# Grid options: None means the ScenarioGrid default (the domain's choice of axis).
SpotRangeOption = typer.Option(
    None, "--spot-range", metavar="PERCENT", help="Spot axis ±percent of spot (e.g. 20)."
)
SigmasOption = typer.Option(
    None, "--sigmas", metavar="N", help="Spot axis ±N standard deviations (sigma sqrt(T))."
)
SpotStepsOption = typer.Option(None, "--spot-steps", metavar="INT", help="Points on the spot axis.")
VolShiftsOption = typer.Option(
    None,
    "--vol-shifts",
    metavar="START:STOP:STEP|LIST",
    help="Vol shifts in vol points, e.g. -10:10:1 or -5,0,5 (each in (-100, 1000]).",
)
DatesOption = typer.Option(
    None, "--dates", metavar="INT", help="Dates from now to the last expiry (2..1000)."
)


def _model_options(
    *,
    vol_source: str | None,
    engine: str | None,
    american_model: str | None,
    european_model: str | None,
    unknown_style: str | None,
    time_basis: str | None,
    theta: str | None,
    iv_price_source: str | None,
    pricing_mode: str | None,
) -> dict[str, str | None]:
    """The model options by ModelConfig field name."""
    return {
        "vol_source": vol_source,
        "american_engine": engine,
        "american_model": american_model,
        "european_model": european_model,
        "unknown_style_as": unknown_style,
        "time_basis": time_basis,
        "theta_convention": theta,
        "iv_price_source": iv_price_source,
        "pricing_mode": pricing_mode,
    }


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _take(
    source: MarketSource,
    description: str,
    *,
    mode: SnapshotMode = SnapshotMode.LIVE,
    rate: float | None = None,
    div: dict[str, float] | None = None,
    borrow: dict[str, float] | None = None,
) -> MarketSnapshot:
    """Take a snapshot of ``source`` (overrides merged) under a spinner."""
    with _progress() as progress, user_errors():
        progress.add_task(description)
        return take_snapshot(source, mode=mode, rate=rate, dividend_yield=div, borrow_rate=borrow)
    raise AssertionError("unreachable")  # pragma: no cover


def _synthetic(
    seed: int,
    when: datetime,
    names: list[str] | None,
    max_days: int,
    mode: SnapshotMode,
    **overrides: Any,
) -> MarketSnapshot:
    from riskdesk.adapters.simulated.market import SyntheticSource

    source = SyntheticSource(
        seed=seed,
        max_expiry_days=max_days,
        as_of=when,
        symbols=None if names is None else tuple(names),
    )
    return _take(
        source,
        f"generating synthetic market (seed {seed}, {when:%Y-%m-%d %H:%M}Z)",
        mode=mode,
        **overrides,
    )


def _symbols(text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not names:
        fail(f"--symbols {text!r} names no symbol; give a comma-separated list like SPY,QQQ")
    return names


def _synth_inputs(
    seed: str, as_of: str | None, symbols: str | None, max_days: str
) -> tuple[int, datetime, list[str] | None, int]:
    return (
        parse_whole(seed, "--seed", low=0, high=MAX_SEED),
        parse_as_of(as_of),
        _symbols(symbols),
        parse_whole(max_days, "--max-days", low=1, high=MAX_DAYS),
    )


def _store(
    db_url: str | None,
    snapshot: MarketSnapshot,
    json_out: bool,
    event: str,
    *,
    emit_json: bool = True,
    extra: dict[str, Any] | None = None,
) -> SnapshotRef:
    with open_db(db_url) as db, user_errors(), _progress() as progress:
        progress.add_task(f"storing {len(snapshot.options):,} option quotes")
        ref = Workbench(db).save_snapshot(snapshot, event=event)
    _show_stored(ref, json_out, emit_json=emit_json, extra=extra)
    return ref


def _show_stored(
    ref: SnapshotRef,
    json_out: bool,
    *,
    emit_json: bool = True,
    extra: dict[str, Any] | None = None,
) -> None:
    snapshot = ref.snapshot
    if json_out:
        if emit_json:
            print_json(
                {
                    "snapshot_id": ref.snapshot_id,
                    "snapshot_hash": ref.snapshot_hash,
                    "created": ref.created,
                    "diagnostics": dict(snapshot.diagnostics),
                }
                | (extra or {})
            )
    else:
        console.print(
            _render.snapshot_table(
                snapshot, snapshot_id=str(ref.snapshot_id), snapshot_hash=ref.snapshot_hash
            )
        )
        if not ref.created:
            console.print("[dim]identical snapshot already stored: reused[/]")


def regenerate_command(seed: int, when: datetime, names: list[str] | None, max_days: int) -> str:
    """The ``market synth`` command line that generates the same market again."""
    symbols = f" --symbols {','.join(names)}" if names else ""
    return (
        f"riskdesk market synth --seed {seed} --as-of {when:%Y-%m-%dT%H:%M:%SZ}"
        f"{symbols} --max-days {max_days}"
    )


# -- market ------------------------------------------------------------------------------------


@market_app.command("synth")
def market_synth(
    seed: str = typer.Option(
        "7", "--seed", metavar="INT", help="Random seed (same seed and time: same market)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Snapshot time, ISO-8601 with zone (default: now)."
    ),
    symbols: str | None = typer.Option(None, help="Comma-separated subset, e.g. SPY,QQQ."),
    max_days: str = typer.Option("730", "--max-days", metavar="INT", help="Latest expiry in days."),
    out: Path | None = typer.Option(None, "--out", help="Also write the chain (.csv/.parquet)."),
    store: bool = typer.Option(True, "--store/--no-store", help="Store it as a LIVE snapshot."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Generate a deterministic synthetic option market (prints how to regenerate it)."""
    seed_n, when, names, days = _synth_inputs(seed, as_of, symbols, max_days)
    snapshot = _synthetic(seed_n, when, names, days, SnapshotMode.LIVE)
    regenerate = regenerate_command(seed_n, when, names, days)
    extra: dict[str, Any] = {"seed": seed_n, "as_of": when, "regenerate": regenerate}
    if out is not None:
        from riskdesk.adapters.files import export_chain

        und_path = out.with_name(out.stem + "_underlyings" + out.suffix)
        with user_errors(), atomic_output(out) as chain_tmp, atomic_output(und_path) as und_tmp:
            export_chain(snapshot, chain_tmp, underlyings_path=und_tmp)
        extra["files"] = [str(out), str(und_path)]
        if not json_out:
            console.print(f"wrote {escape(str(out))} and {escape(str(und_path))}")
    if store:
        _store(database_url, snapshot, json_out, "market.synthesized", extra=extra)
    elif json_out:
        print_json({"snapshot_hash": snapshot.snapshot_hash, "stored": False} | extra)
    if not json_out:
        console.print(f"regenerate with: {escape(regenerate)}", soft_wrap=True)


@market_app.command("import")
def market_import(
    chain: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Option chain CSV/Parquet."
    ),
    underlyings: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="Underlying quotes CSV/Parquet."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Snapshot time, ISO-8601 with zone."),
    source_name: str | None = typer.Option(
        None, "--source", help="Provider name recorded on the snapshot."
    ),
    rate: str = typer.Option(
        "0", "--rate", metavar="DECIMAL", help="Risk-free rate (continuous, decimal: 0.05 = 5%)."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Import a chain file; bad rows are reported with reasons and skipped.

    A file of which no row can be imported stores nothing and exits 1.
    """
    from riskdesk.adapters.files import NoRowsImportedError
    from riskdesk.adapters.files.chains import ChainFileSource

    overrides = MarketOverrides(rate=parse_rate(rate, "--rate"))
    with user_errors():
        source = ChainFileSource(
            chain,
            as_of=parse_as_of(as_of),
            underlyings_path=underlyings,
            source=source_name,
            overrides=overrides,
        )
        try:
            snapshot = take_snapshot(source, mode=SnapshotMode.LIVE)
        except NoRowsImportedError as exc:
            if not json_out:  # show why every row was rejected, then the one-line error
                _print_import_report(exc.report)
            raise
    report = source.report
    assert report is not None  # set by every successful snapshot()
    if not json_out:
        _print_import_report(report)
    ref = _store(database_url, snapshot, json_out, "market.imported", emit_json=False)
    if json_out:
        print_json(
            {
                "snapshot_id": ref.snapshot_id,
                "snapshot_hash": ref.snapshot_hash,
                "rows_read": report.rows_read,
                "rows_ok": report.rows_ok,
                "rows_rejected": report.rows_rejected,
                "errors": [dataclasses.asdict(e) for e in report.errors],
                "warnings": list(report.warnings),
            }
        )


def _print_import_report(report: Any) -> None:
    """Counts, warnings (e.g. unknown columns) and the rejected rows of an import."""
    console.print(
        f"rows read {report.rows_read:,}, imported {report.rows_ok:,}, "
        f"rejected {report.rows_rejected:,}"
    )
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(str(warning))}")
    if report.errors:
        table = Table(title="rejected rows")
        for col in ("row", "column", "value", "reason"):
            table.add_column(col)
        for e in report.errors[:200]:
            table.add_row(str(e.row), escape(str(e.column)), escape(str(e.value)), escape(e.reason))
        console.print(table)
        if len(report.errors) > 200:
            console.print(f"[dim]... and {len(report.errors) - 200:,} more (see --json)[/]")


# -- snapshot ----------------------------------------------------------------------------------


@snapshot_app.command("create")
def snapshot_create(
    seed: str = typer.Option("7", "--seed", metavar="INT", help="Seed of the synthetic source."),
    as_of: str | None = typer.Option(None, "--as-of", help="Snapshot time, ISO-8601 with zone."),
    symbols: str | None = typer.Option(None, help="Comma-separated subset, e.g. SPY,QQQ."),
    max_days: str = typer.Option("730", "--max-days", metavar="INT", help="Latest expiry in days."),
    rate: str | None = typer.Option(
        None, "--rate", metavar="DECIMAL", help="Override the risk-free rate (|rate| <= 1)."
    ),
    div_yield: list[str] | None = typer.Option(
        None, "--div-yield", help="SYMBOL=yield override (decimal, e.g. SPY=0.013)."
    ),
    borrow: list[str] | None = typer.Option(
        None, "--borrow", help="SYMBOL=borrow rate override (decimal, e.g. GME=0.05)."
    ),
    pin: bool = typer.Option(False, "--pin", help="Create it PINNED (frozen)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Pull a snapshot from the market source (the synthetic market by default)."""
    mode = SnapshotMode.PINNED if pin else SnapshotMode.LIVE
    seed_n, when, names, days = _synth_inputs(seed, as_of, symbols, max_days)
    rate_value = None if rate is None else parse_rate(rate, "--rate")
    dividends = parse_symbol_map(div_yield, "--div-yield")
    borrows = parse_symbol_map(borrow, "--borrow")
    snapshot = _synthetic(
        seed_n, when, names, days, mode, rate=rate_value, div=dividends, borrow=borrows
    )
    _store(database_url, snapshot, json_out, "snapshot.created")


@snapshot_app.command("refresh")
def snapshot_refresh(
    ref: str = typer.Argument("latest", help="LIVE snapshot id or hash prefix, or 'latest'."),
    minutes_text: str = typer.Option(
        "15", "--minutes", metavar="INT", help="Minutes of simulated market to move forward."
    ),
    seed_text: str = typer.Option(
        "7", "--seed", metavar="INT", help="Seed the snapshot was generated with."
    ),
    max_days_text: str = typer.Option(
        "730", "--max-days", metavar="INT", help="--max-days it was generated with."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Refresh a LIVE synthetic snapshot: re-mark it ``--minutes`` later along its path."""
    minutes = parse_whole(minutes_text, "--minutes", low=1, high=MAX_MINUTES)
    seed = parse_whole(seed_text, "--seed", low=0, high=MAX_SEED)
    max_days = parse_whole(max_days_text, "--max-days", low=1, high=MAX_DAYS)
    from riskdesk.adapters.simulated.market import SyntheticSource

    source = SyntheticSource(seed=seed, max_expiry_days=max_days)
    with open_db(database_url) as db, user_errors(), _progress() as progress:
        progress.add_task(f"re-marking the snapshot {minutes} minutes later")
        refreshed = Workbench(db).refresh_snapshot(ref, source, minutes=minutes)
    _show_stored(refreshed, json_out)


@snapshot_app.command("pin")
def snapshot_pin(
    ref: str = typer.Argument(..., help="Snapshot id or hash prefix, or 'latest'."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Freeze a LIVE snapshot: store a PINNED copy (its own hash)."""
    with open_db(database_url) as db, user_errors():
        pinned = Workbench(db).pin_snapshot(ref)
    if json_out:
        print_json(
            {
                "snapshot_id": pinned.snapshot_id,
                "snapshot_hash": pinned.snapshot_hash,
                "created": pinned.created,
            }
        )
    else:
        console.print(f"pinned: {pinned.snapshot_hash[:12]} (id {pinned.snapshot_id})")


@snapshot_app.command("show")
def snapshot_show(
    ref: str = typer.Argument("latest", help="Snapshot id or hash prefix, or 'latest'."),
    chain: str | None = typer.Option(
        None, help="Only this underlying, with its option chain (table and JSON)."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Show a snapshot: header, underlyings with their carry, diagnostics (and a chain)."""
    with open_db(database_url) as db, user_errors():
        found = Workbench(db).load_snapshot(ref)
    snap = found.snapshot
    symbol = None if chain is None else chain.strip().upper()
    symbols = [u.symbol for u in snap.underlyings]
    if symbol is not None and symbol not in symbols:
        fail(f"--chain {chain!r}: the snapshot has no underlying {symbol!r}; it has {symbols}")
    if json_out:
        payload = snap.hash_payload()
        if symbol is not None:
            payload["underlyings"] = [u for u in payload["underlyings"] if u["symbol"] == symbol]
            payload["options"] = [
                o for o in payload["options"] if o["contract"]["underlying"] == symbol
            ]
        print_json(
            {
                "snapshot_id": found.snapshot_id,
                "snapshot_hash": found.snapshot_hash,
                **payload,
                "chain": symbol,
                "carry": {
                    u["symbol"]: _render.carry(snap, u["symbol"]) for u in payload["underlyings"]
                },
                "diagnostics": dict(snap.diagnostics),
            }
        )
        return
    console.print(
        _render.snapshot_table(
            snap, snapshot_id=str(found.snapshot_id), snapshot_hash=found.snapshot_hash
        )
    )
    if symbol is not None:
        console.print(_render.chain_table(snap, symbol))


@snapshot_app.command("list")
def snapshot_list(
    limit_text: str = typer.Option("20", "--limit", metavar="INT", help="How many, newest first."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """List stored snapshots."""
    limit = parse_whole(limit_text, "--limit", low=1, high=100_000)
    with open_db(database_url) as db, user_errors():
        summaries = Workbench(db).list_snapshots(limit=limit)
    rows = [
        (r.snapshot_id, r.snapshot_hash, r.mode, r.as_of, r.source, r.symbol) for r in summaries
    ]
    if json_out:
        print_json(
            [
                dict(
                    zip(
                        ("snapshot_id", "snapshot_hash", "mode", "as_of", "source", "symbol"),
                        r,
                        strict=True,
                    )
                )
                for r in rows
            ]
        )
        return
    table = Table(title="market snapshots")
    for col in ("hash", "mode", "as of", "source", "symbols"):
        table.add_column(col)
    for r in rows:
        table.add_row(r[1][:12], r[2], _render.when(r[3]), escape(r[4]), escape(r[5]))
    console.print(table)


# -- trades ------------------------------------------------------------------------------------


def _show_draft(draft_id: str, rev: int, draft: TradeDraft, json_out: bool) -> None:
    if json_out:
        print_json(
            {
                "draft_id": draft_id,
                "rev": rev,
                "name": draft.name,
                "legs": [{"leg_id": d.leg_id, **d.leg.canonical_dict()} for d in draft.legs],
            }
        )
        return
    table = Table(title=escape(f"draft {draft.name!r}  id {draft_id}  rev {rev}"))
    for col in ("leg id", "instrument", "qty", "entry ($)", "fees ($)", "included"):
        table.add_column(
            col, justify="right" if col in ("qty", "entry ($)", "fees ($)") else "left"
        )
    for item in draft.legs:  # the draft's order: the order the legs were entered
        leg = item.leg
        table.add_row(
            item.leg_id[:8],
            escape(leg.label),
            _render.quantity(leg.quantity),
            _render.price(leg.entry_price),
            _render.money(leg.fees),
            "yes" if leg.include else "no",
        )
    console.print(table)


@trade_app.command("new")
def trade_new(
    name: str = typer.Argument(..., help="Trade name."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Start an empty draft."""
    with open_db(database_url) as db, user_errors():
        ref = Workbench(db).new_draft(name)
    _show_draft(str(ref.draft_id), ref.rev, ref.draft, json_out)


@trade_app.command("add-leg")
def trade_add_leg(
    draft: str = typer.Argument(..., help="Draft id (prefix)."),
    occ: str | None = typer.Option(None, "--occ", help="Option by OCC symbol."),
    stock: str | None = typer.Option(None, "--stock", help="Stock/ETF symbol."),
    qty: str = typer.Option(..., "--qty", help="Signed quantity: > 0 buy, < 0 sell."),
    price: str | None = typer.Option(None, "--price", help="Entry price per unit."),
    snapshot: str | None = typer.Option(
        None, "--snapshot", help="Take the entry from this snapshot: ask to buy, bid to sell."
    ),
    fees: str = typer.Option("0", "--fees", help="Total fees of the leg."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Add a leg; with --snapshot the chain is the trade builder (buy at ask, sell at bid)."""
    if (occ is None) == (stock is None):
        fail("give exactly one of --occ or --stock")
    instrument: Instrument
    with user_errors():
        instrument = parse_occ(occ) if occ is not None else Stock(symbol=(stock or "").upper())
    quantity = parse_amount(qty, "--qty", nonzero=True)
    if isinstance(instrument, OptionContract) and quantity != quantity.to_integral_value():
        fail(f"--qty {qty.strip()} is not a whole number: option legs trade whole contracts")
    fee = parse_amount(fees, "--fees", minimum=Decimal(0))
    entry_given = None if price is None else parse_amount(price, "--price", minimum=Decimal(0))
    if entry_given is None and snapshot is None:
        fail("give --price, or --snapshot to take the bid/ask from a snapshot")
    with open_db(database_url) as db, user_errors():
        ref, leg_id = Workbench(db).add_leg(
            draft,
            instrument,
            quantity=quantity,
            fees=fee,
            price=entry_given,
            snapshot_ref=snapshot,
        )
    if not json_out:
        console.print(f"added leg {leg_id}")
    _show_draft(str(ref.draft_id), ref.rev, ref.draft, json_out)


@trade_app.command("toggle-leg")
def trade_toggle_leg(
    draft: str = typer.Argument(..., help="Draft id (prefix)."),
    leg: str = typer.Argument(..., help="Leg id (prefix)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Include or exclude a leg (it stays in the draft)."""
    with open_db(database_url) as db, user_errors():
        ref = Workbench(db).toggle_leg(draft, leg)
    _show_draft(str(ref.draft_id), ref.rev, ref.draft, json_out)


@trade_app.command("remove-leg")
def trade_remove_leg(
    draft: str = typer.Argument(..., help="Draft id (prefix)."),
    leg: str = typer.Argument(..., help="Leg id (prefix)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Remove a leg from a draft."""
    with open_db(database_url) as db, user_errors():
        ref = Workbench(db).remove_leg(draft, leg)
    _show_draft(str(ref.draft_id), ref.rev, ref.draft, json_out)


@trade_app.command("commit")
def trade_commit(
    draft: str = typer.Argument(..., help="Draft id (prefix)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Freeze a draft into an immutable version with a content hash."""
    with open_db(database_url) as db, user_errors():
        ref = Workbench(db).commit_draft(draft)
    if json_out:
        print_json(
            {
                "trade_version_id": ref.trade_version_id,
                "trade_hash": ref.trade_hash,
                "created": ref.created,
            }
        )
    else:
        state = "committed" if ref.created else "identical version already stored"
        console.print(f"{state}: {ref.trade_hash}")


@trade_app.command("show")
def trade_show(
    ref: str = typer.Argument(..., help="Version id/hash prefix, or draft:<id>."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Show a version or a draft."""
    with open_db(database_url) as db, user_errors():
        found = Workbench(db).load_trade(ref)
    trade = found.trade
    if isinstance(trade, TradeDraft):
        _show_draft(str(found.ref_id), trade.rev, trade, json_out)
        return
    if json_out:
        print_json({"trade_version_id": found.ref_id, **trade.to_json_dict()})
        return
    table = Table(title=escape(f"version {trade.name!r}  {found.trade_hash[:12]}"))
    for col in ("instrument", "qty", "entry ($)", "fees ($)", "included"):
        table.add_column(
            col, justify="right" if col in ("qty", "entry ($)", "fees ($)") else "left"
        )
    for leg in trade.legs:  # the version's order: the order the legs were entered
        table.add_row(
            escape(leg.label),
            _render.quantity(leg.quantity),
            _render.price(leg.entry_price),
            _render.money(leg.fees),
            "yes" if leg.include else "no",
        )
    console.print(table)


# -- analytics ---------------------------------------------------------------------------------


def evaluate_command(
    trade: str = typer.Argument(..., help="Version id/hash prefix, or draft:<id>."),
    snapshot: str = typer.Option("latest", "--snapshot", help="Snapshot id/hash prefix."),
    config_file: Path | None = ConfigOption,
    vol_source: str | None = VolSourceOption,
    engine: str | None = EngineOption,
    american_model: str | None = AmericanModelOption,
    european_model: str | None = EuropeanModelOption,
    unknown_style: str | None = UnknownStyleOption,
    time_basis: str | None = TimeBasisOption,
    theta: str | None = ThetaOption,
    iv_price_source: str | None = IvPriceSourceOption,
    pricing_mode: str | None = PricingModeOption,
    spot_range: str | None = SpotRangeOption,
    sigmas: str | None = SigmasOption,
    spot_steps: str | None = SpotStepsOption,
    vol_shifts: str | None = VolShiftsOption,
    dates: str | None = DatesOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Value, P/L, Greeks, scenario grids, breakevens, max P/L and POP of a trade.

    Exits 1 (after printing the result) when the result has errors, e.g. no leg could be
    valued.
    """
    config, grid = analysis_inputs(
        model=_model_options(
            vol_source=vol_source,
            engine=engine,
            american_model=american_model,
            european_model=european_model,
            unknown_style=unknown_style,
            time_basis=time_basis,
            theta=theta,
            iv_price_source=iv_price_source,
            pricing_mode=pricing_mode,
        ),
        config_file=config_file,
        spot_range=spot_range,
        sigmas=sigmas,
        spot_steps=spot_steps,
        vol_shifts=vol_shifts,
        dates=dates,
    )
    with open_db(database_url) as db, user_errors(), _progress() as progress:
        progress.add_task("evaluating")
        outcome = Workbench(db).evaluate(trade, snapshot, config, grid)
    data = outcome.data
    if json_out:
        print_json(data | {"result_id": str(outcome.result_id), "cache_hit": outcome.cache_hit})
    else:
        _render.evaluation(console, data)
        console.print(
            f"[dim]result {outcome.result_id} "
            f"({'cache hit' if outcome.cache_hit else 'computed'})[/]"
        )
    fail_on_result_errors(list(data.get("errors", [])), "the evaluation")


def compare_command(
    a: str = typer.Argument(..., help="Trade A (version hash prefix or draft:<id>)."),
    b: str = typer.Argument(..., help="Trade B."),
    snapshot: str = typer.Option("latest", "--snapshot", help="Snapshot id/hash prefix."),
    config_file: Path | None = ConfigOption,
    vol_source: str | None = VolSourceOption,
    engine: str | None = EngineOption,
    american_model: str | None = AmericanModelOption,
    european_model: str | None = EuropeanModelOption,
    unknown_style: str | None = UnknownStyleOption,
    time_basis: str | None = TimeBasisOption,
    theta: str | None = ThetaOption,
    iv_price_source: str | None = IvPriceSourceOption,
    pricing_mode: str | None = PricingModeOption,
    spot_range: str | None = SpotRangeOption,
    sigmas: str | None = SigmasOption,
    spot_steps: str | None = SpotStepsOption,
    vol_shifts: str | None = VolShiftsOption,
    dates: str | None = DatesOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """A, B and A-B for every measure and grid on one snapshot.

    Exits 1 (after printing the result) when A or B has errors, e.g. no leg could be valued.
    """
    config, grid = analysis_inputs(
        model=_model_options(
            vol_source=vol_source,
            engine=engine,
            american_model=american_model,
            european_model=european_model,
            unknown_style=unknown_style,
            time_basis=time_basis,
            theta=theta,
            iv_price_source=iv_price_source,
            pricing_mode=pricing_mode,
        ),
        config_file=config_file,
        spot_range=spot_range,
        sigmas=sigmas,
        spot_steps=spot_steps,
        vol_shifts=vol_shifts,
        dates=dates,
    )
    with open_db(database_url) as db, user_errors(), _progress() as progress:
        progress.add_task("comparing")
        data = Workbench(db).compare(a, b, snapshot, config, grid)
    if json_out:
        print_json(data)
    else:
        _render.comparison(console, data)
    for side in ("a", "b"):
        fail_on_result_errors(list(data[side].get("errors", [])), f"trade {side.upper()}")


def attribute_command(
    trade: str = typer.Argument(..., help="Version hash prefix or draft:<id>."),
    base: str = typer.Option(..., "--base", help="Base snapshot."),
    compare_to: str | None = typer.Option(None, "--compare", help="Compare snapshot."),
    days_text: str | None = typer.Option(
        None, "--days", metavar="N", help="Or: move the base forward N calendar days (0 < N)."
    ),
    config_file: Path | None = ConfigOption,
    vol_source: str | None = VolSourceOption,
    engine: str | None = EngineOption,
    american_model: str | None = AmericanModelOption,
    european_model: str | None = EuropeanModelOption,
    unknown_style: str | None = UnknownStyleOption,
    time_basis: str | None = TimeBasisOption,
    theta: str | None = ThetaOption,
    iv_price_source: str | None = IvPriceSourceOption,
    pricing_mode: str | None = PricingModeOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Explain the P&L between two states: Taylor (2nd order) + residual, and sequential.

    Exits 1 (after printing the result) when the result has errors, e.g. no leg has both
    states.
    """
    config = model_config_from_options(
        _model_options(
            vol_source=vol_source,
            engine=engine,
            american_model=american_model,
            european_model=european_model,
            unknown_style=unknown_style,
            time_basis=time_basis,
            theta=theta,
            iv_price_source=iv_price_source,
            pricing_mode=pricing_mode,
        ),
        config_file=config_file,
    )
    if (compare_to is None) == (days_text is None):
        fail("give exactly one of --compare SNAPSHOT or --days N")
    days = (
        None
        if days_text is None
        else parse_number(days_text, "--days", high=float(MAX_DAYS), above=0.0)
    )
    with open_db(database_url) as db, user_errors():
        attribution_id, data = Workbench(db).attribute(
            trade, base, config, compare_ref=compare_to, days=days
        )
    if json_out:
        print_json(data | {"attribution_id": str(attribution_id)})
    else:
        _render.attribution(console, data)
        console.print(f"[dim]stored attribution {attribution_id}[/]")
    fail_on_result_errors(list(data.get("errors", [])), "the attribution")
