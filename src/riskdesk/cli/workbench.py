"""Workbench commands: market, snapshot, trade, evaluate, compare, attribute."""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskdesk.cli import _render
from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    analysis_inputs,
    console,
    fail,
    model_config_from_options,
    open_db,
    parse_as_of,
    parse_symbol_map,
    print_json,
    user_errors,
)
from riskdesk.domain.instruments import Instrument, Stock
from riskdesk.domain.market import MarketOverrides, MarketSnapshot, SnapshotMode
from riskdesk.domain.occ import parse_occ
from riskdesk.domain.trades import TradeDraft
from riskdesk.workbench import SnapshotRef, Workbench

market_app = typer.Typer(
    no_args_is_help=True, help="Market data: synthetic generator, file import."
)
snapshot_app = typer.Typer(no_args_is_help=True, help="Market snapshots: create, pin, show, list.")
trade_app = typer.Typer(no_args_is_help=True, help="Trade drafts and committed versions.")

VolSourceOption = typer.Option("raw", "--vol-source", help="raw (chain IV) or surface (SVI fit).")
EngineOption = typer.Option("bs2002", "--engine", help="American engine: bs2002 or high_accuracy.")
SpotRangeOption = typer.Option(20.0, "--spot-range", help="Spot axis ±percent.")
SigmasOption = typer.Option(None, "--sigmas", help="Spot axis ±N sigmas (overrides --spot-range).")
SpotStepsOption = typer.Option(41, "--spot-steps", help="Points on the spot axis.")
VolShiftsOption = typer.Option("-10:10:1", "--vol-shifts", help="Vol shifts in points.")
DatesOption = typer.Option(10, "--dates", help="Dates from now to the last expiry.")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _synthetic(
    seed: int, as_of: str | None, symbols: str | None, max_days: int, mode: SnapshotMode
) -> MarketSnapshot:
    from riskdesk.adapters.simulated import generate_market

    when = parse_as_of(as_of)
    names = [s.strip().upper() for s in symbols.split(",")] if symbols else None
    with _progress() as progress, user_errors():
        progress.add_task(f"generating synthetic market (seed {seed}, {when:%Y-%m-%d %H:%M}Z)")
        return generate_market(
            seed=seed, as_of=when, symbols=names, max_expiry_days=max_days, mode=mode
        )


def _with_overrides(
    snapshot: MarketSnapshot, rate: float | None, div: list[str] | None, borrow: list[str] | None
) -> MarketSnapshot:
    if rate is None and not div and not borrow:
        return snapshot
    base = snapshot.overrides
    overrides = MarketOverrides(
        rate=base.rate if rate is None else rate,
        dividend_yield={**base.dividend_yield, **parse_symbol_map(div, "--div-yield")},
        borrow_rate={**base.borrow_rate, **parse_symbol_map(borrow, "--borrow")},
        dividends=base.dividends,
    )
    return dataclasses.replace(snapshot, overrides=overrides)


def _store(
    db_url: str | None,
    snapshot: MarketSnapshot,
    json_out: bool,
    event: str,
    *,
    emit_json: bool = True,
) -> SnapshotRef:
    with open_db(db_url) as db, user_errors(), _progress() as progress:
        progress.add_task(f"storing {len(snapshot.options):,} option quotes")
        ref = Workbench(db).save_snapshot(snapshot, event=event)
    if json_out:
        if emit_json:
            print_json(
                {
                    "snapshot_id": ref.snapshot_id,
                    "snapshot_hash": ref.snapshot_hash,
                    "created": ref.created,
                    "diagnostics": dict(snapshot.diagnostics),
                }
            )
    else:
        console.print(
            _render.snapshot_table(
                snapshot, snapshot_id=str(ref.snapshot_id), snapshot_hash=ref.snapshot_hash
            )
        )
        if not ref.created:
            console.print("[dim]identical snapshot already stored: reused[/]")
    return ref


# -- market ------------------------------------------------------------------------------------


@market_app.command("synth")
def market_synth(
    seed: int = typer.Option(7, help="Random seed (same seed and time: same market)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Snapshot time, ISO-8601 with zone."),
    symbols: str | None = typer.Option(None, help="Comma-separated subset, e.g. SPY,QQQ."),
    max_days: int = typer.Option(730, "--max-days", help="Latest expiry in days."),
    out: Path | None = typer.Option(None, "--out", help="Also write the chain (.csv/.parquet)."),
    store: bool = typer.Option(True, "--store/--no-store", help="Store it as a LIVE snapshot."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Generate a deterministic synthetic option market."""
    snapshot = _synthetic(seed, as_of, symbols, max_days, SnapshotMode.LIVE)
    if out is not None:
        from riskdesk.adapters.files import export_chain

        und_path = out.with_name(out.stem + "_underlyings" + out.suffix)
        with user_errors():
            export_chain(snapshot, out, underlyings_path=und_path)
        console.print(f"wrote {out} and {und_path}")
    if store:
        _store(database_url, snapshot, json_out, "market.synthesized")


@market_app.command("import")
def market_import(
    chain: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Option chain CSV/Parquet."
    ),
    underlyings: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="Underlying quotes CSV/Parquet."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Snapshot time, ISO-8601 with zone."),
    source: str | None = typer.Option(None, help="Provider name recorded on the snapshot."),
    rate: float = typer.Option(0.0, help="Risk-free rate (continuous, decimal)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Import a chain file; bad rows are reported with reasons and skipped."""
    from riskdesk.adapters.files import import_chain

    with user_errors():
        snapshot, report = import_chain(
            chain,
            as_of=parse_as_of(as_of),
            underlyings_path=underlyings,
            source=source,
            overrides=MarketOverrides(rate=rate),
            mode=SnapshotMode.LIVE,
        )
    if not json_out:
        console.print(
            f"rows read {report.rows_read:,}, imported {report.rows_ok:,}, "
            f"rejected {report.rows_rejected:,}"
        )
        if report.errors:
            table = Table(title="rejected rows")
            for col in ("row", "column", "value", "reason"):
                table.add_column(col)
            for e in report.errors[:200]:
                table.add_row(
                    str(e.row), escape(str(e.column)), escape(str(e.value)), escape(e.reason)
                )
            console.print(table)
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
            }
        )


# -- snapshot ----------------------------------------------------------------------------------


@snapshot_app.command("create")
def snapshot_create(
    seed: int = typer.Option(7, help="Seed of the synthetic source."),
    as_of: str | None = typer.Option(None, "--as-of", help="Snapshot time, ISO-8601 with zone."),
    symbols: str | None = typer.Option(None, help="Comma-separated subset, e.g. SPY,QQQ."),
    max_days: int = typer.Option(730, "--max-days", help="Latest expiry in days."),
    rate: float | None = typer.Option(None, help="Override the risk-free rate."),
    div_yield: list[str] | None = typer.Option(None, "--div-yield", help="SYMBOL=yield override."),
    borrow: list[str] | None = typer.Option(None, "--borrow", help="SYMBOL=borrow rate override."),
    pin: bool = typer.Option(False, "--pin", help="Create it PINNED (frozen)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Pull a snapshot from the market source (the synthetic market by default)."""
    mode = SnapshotMode.PINNED if pin else SnapshotMode.LIVE
    snapshot = _with_overrides(
        _synthetic(seed, as_of, symbols, max_days, mode), rate, div_yield, borrow
    )
    _store(database_url, snapshot, json_out, "snapshot.created")


@snapshot_app.command("refresh")
def snapshot_refresh(
    ref: str = typer.Argument("latest", help="LIVE snapshot id or hash prefix, or 'latest'."),
    minutes: int = typer.Option(15, help="Minutes of simulated market to move forward."),
    seed: int = typer.Option(7, help="Seed the snapshot was generated with."),
    max_days: int = typer.Option(730, "--max-days", help="--max-days it was generated with."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Refresh a LIVE synthetic snapshot: re-mark it ``--minutes`` later along its path."""
    from riskdesk.adapters.simulated import SOURCE, generate_market, simulate_live

    if minutes < 1:
        fail(f"--minutes must be >= 1, got {minutes}")
    with open_db(database_url) as db, user_errors():
        base = Workbench(db).load_snapshot(ref).snapshot
    if base.mode is not SnapshotMode.LIVE:
        fail("a PINNED snapshot never changes: refresh the LIVE snapshot it was pinned from")
    if base.source != SOURCE:
        fail(f"snapshot source is {base.source!r}: refresh it by importing a newer file")
    symbols = [u.symbol for u in base.underlyings]
    with _progress() as progress, user_errors():
        progress.add_task(f"re-marking {len(base.options):,} quotes {minutes} minutes later")
        regenerated = generate_market(
            seed=seed, as_of=base.as_of, symbols=symbols, max_expiry_days=max_days
        )
        # the user's rate/dividend/borrow overrides are part of the snapshot: keep them
        regenerated = dataclasses.replace(regenerated, overrides=base.overrides)
        if regenerated.snapshot_hash != base.snapshot_hash:
            fail(
                f"snapshot was not generated with --seed {seed} --max-days {max_days} at "
                f"{base.as_of:%Y-%m-%dT%H:%MZ} (a refreshed snapshot refreshes from the one "
                "its path started at); pass the values it was created with"
            )
        *_, later = simulate_live(
            seed=seed,
            start=base.as_of,
            steps=2,
            step_minutes=minutes,
            symbols=symbols,
            max_expiry_days=max_days,
        )
        later = dataclasses.replace(later, overrides=base.overrides)
    _store(database_url, later, json_out, "snapshot.refreshed")


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
    chain: str | None = typer.Option(None, help="Also list the chain of this underlying."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Show a snapshot: header, underlyings, diagnostics (and optionally a chain)."""
    with open_db(database_url) as db, user_errors():
        found = Workbench(db).load_snapshot(ref)
    snap = found.snapshot
    if json_out:
        print_json(
            {
                "snapshot_id": found.snapshot_id,
                "snapshot_hash": found.snapshot_hash,
                **snap.hash_payload(),
                "diagnostics": dict(snap.diagnostics),
            }
        )
        return
    console.print(
        _render.snapshot_table(
            snap, snapshot_id=str(found.snapshot_id), snapshot_hash=found.snapshot_hash
        )
    )
    if chain:
        table = Table(title=f"{chain.upper()} chain")
        for col in ("contract", "bid", "ask", "mark", "iv"):
            table.add_column(col, justify="left" if col == "contract" else "right")
        for q in snap.options:
            if q.contract.underlying == chain.upper():
                table.add_row(
                    q.contract.key,
                    str(q.bid),
                    str(q.ask),
                    str(q.mark),
                    "-" if q.iv is None else f"{q.iv:.2%}",
                )
        console.print(table)


@snapshot_app.command("list")
def snapshot_list(
    limit: int = typer.Option(20, help="How many, newest first."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """List stored snapshots."""
    from riskdesk.store import workbench as repo

    with open_db(database_url) as db, db.unit_of_work() as uow:
        rows = [
            (r.snapshot_id, r.snapshot_hash, r.mode, r.as_of, r.source, r.symbol)
            for r in repo.list_snapshots(uow.session, limit=limit)
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
    for col in ("hash", "mode", "as of (UTC)", "source", "symbols"):
        table.add_column(col)
    for r in rows:
        table.add_row(r[1][:12], r[2], r[3].isoformat(), r[4], r[5])
    console.print(table)


# -- trades ------------------------------------------------------------------------------------


def _decimal(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        fail(f"{option} {text!r} is not a decimal number")
    if not value.is_finite():
        fail(f"{option} {text!r} must be finite")
    return value


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
    for col in ("leg id", "instrument", "qty", "entry", "fees", "included"):
        table.add_column(col)
    for item in draft.legs:
        leg = item.leg
        table.add_row(
            item.leg_id[:8],
            leg.label,
            str(leg.quantity),
            str(leg.entry_price),
            str(leg.fees),
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
    quantity = _decimal(qty, "--qty")
    instrument: Instrument
    with user_errors():
        instrument = parse_occ(occ) if occ is not None else Stock(symbol=(stock or "").upper())
    with open_db(database_url) as db, user_errors():
        bench = Workbench(db)
        if price is not None:
            entry = _decimal(price, "--price")
        elif snapshot is not None:
            entry = _entry_from_snapshot(
                bench.load_snapshot(snapshot).snapshot, instrument, quantity
            )
        else:
            fail("give --price, or --snapshot to take the bid/ask from a snapshot")
        ref, leg_id = bench.edit_draft(
            draft,
            lambda d: d.add_leg(
                instrument, quantity=quantity, entry_price=entry, fees=_decimal(fees, "--fees")
            ),
            event="trade_draft.leg_added",
        )
    if not json_out:
        console.print(f"added leg {leg_id}")
    _show_draft(str(ref.draft_id), ref.rev, ref.draft, json_out)


def _entry_from_snapshot(
    snap: MarketSnapshot, instrument: Instrument, quantity: Decimal
) -> Decimal:
    if isinstance(instrument, Stock):
        und = snap.underlying(instrument.symbol)
        side = und.ask if quantity > 0 else und.bid
        return side if side is not None else und.spot
    quote = snap.option_quote(instrument)
    if quote is None:
        fail(f"snapshot has no quote for {instrument.key}")
    side = quote.ask if quantity > 0 else quote.bid
    if side is None:
        fail(f"{instrument.key} has no {'ask' if quantity > 0 else 'bid'} in the snapshot")
    return side


@trade_app.command("toggle-leg")
def trade_toggle_leg(
    draft: str = typer.Argument(..., help="Draft id (prefix)."),
    leg: str = typer.Argument(..., help="Leg id (prefix)."),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Include or exclude a leg (it stays in the draft)."""
    with open_db(database_url) as db, user_errors():
        ref, _ = Workbench(db).edit_draft(
            draft, lambda d: d.toggle_leg(_leg_id(d, leg)), event="trade_draft.leg_toggled"
        )
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
        ref, _ = Workbench(db).edit_draft(
            draft, lambda d: d.remove_leg(_leg_id(d, leg)), event="trade_draft.leg_removed"
        )
    _show_draft(str(ref.draft_id), ref.rev, ref.draft, json_out)


def _leg_id(draft: TradeDraft, prefix: str) -> str:
    matches = [d.leg_id for d in draft.legs if d.leg_id.startswith(prefix.lower())]
    if len(matches) != 1:
        raise LookupError(
            f"leg {prefix!r} matches {len(matches)} legs of draft {draft.name!r}; give more characters"
        )
    return matches[0]


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
    for col in ("instrument", "qty", "entry", "fees", "included"):
        table.add_column(col)
    for leg in trade.legs:
        table.add_row(
            leg.label,
            str(leg.quantity),
            str(leg.entry_price),
            str(leg.fees),
            "yes" if leg.include else "no",
        )
    console.print(table)


# -- analytics ---------------------------------------------------------------------------------


def evaluate_command(
    trade: str = typer.Argument(..., help="Version id/hash prefix, or draft:<id>."),
    snapshot: str = typer.Option("latest", "--snapshot", help="Snapshot id/hash prefix."),
    vol_source: str = VolSourceOption,
    engine: str = EngineOption,
    spot_range: float = SpotRangeOption,
    sigmas: float | None = SigmasOption,
    spot_steps: int = SpotStepsOption,
    vol_shifts: str = VolShiftsOption,
    dates: int = DatesOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Value, P/L, Greeks, scenario grids, breakevens, max P/L and POP of a trade."""
    config, grid = analysis_inputs(
        vol_source=vol_source,
        engine=engine,
        spot_range=spot_range,
        sigmas=sigmas,
        spot_steps=spot_steps,
        vol_shifts=vol_shifts,
        dates=dates,
    )
    with open_db(database_url) as db, user_errors(), _progress() as progress:
        progress.add_task("evaluating")
        outcome = Workbench(db).evaluate(trade, snapshot, config, grid)
    if json_out:
        print_json(
            outcome.data | {"result_id": str(outcome.result_id), "cache_hit": outcome.cache_hit}
        )
        return
    _render.evaluation(console, outcome.data)
    console.print(
        f"[dim]result {outcome.result_id} ({'cache hit' if outcome.cache_hit else 'computed'})[/]"
    )


def compare_command(
    a: str = typer.Argument(..., help="Trade A (version hash prefix or draft:<id>)."),
    b: str = typer.Argument(..., help="Trade B."),
    snapshot: str = typer.Option("latest", "--snapshot", help="Snapshot id/hash prefix."),
    vol_source: str = VolSourceOption,
    engine: str = EngineOption,
    spot_range: float = SpotRangeOption,
    sigmas: float | None = SigmasOption,
    spot_steps: int = SpotStepsOption,
    vol_shifts: str = VolShiftsOption,
    dates: int = DatesOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """A, B and A-B for every measure and grid on one snapshot."""
    config, grid = analysis_inputs(
        vol_source=vol_source,
        engine=engine,
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


def attribute_command(
    trade: str = typer.Argument(..., help="Version hash prefix or draft:<id>."),
    base: str = typer.Option(..., "--base", help="Base snapshot."),
    compare_to: str | None = typer.Option(None, "--compare", help="Compare snapshot."),
    days: float | None = typer.Option(None, "--days", help="Or: move the base forward N days."),
    vol_source: str = VolSourceOption,
    engine: str = EngineOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Explain the P&L between two states: Taylor (2nd order) + residual, and sequential."""
    config = model_config_from_options(vol_source=vol_source, engine=engine)
    if (compare_to is None) == (days is None):
        fail("give exactly one of --compare SNAPSHOT or --days N")
    with open_db(database_url) as db, user_errors():
        attribution_id, data = Workbench(db).attribute(
            trade, base, config, compare_ref=compare_to, days=days
        )
    if json_out:
        print_json(data | {"attribution_id": str(attribution_id)})
    else:
        _render.attribution(console, data)
        console.print(f"[dim]stored attribution {attribution_id}[/]")
