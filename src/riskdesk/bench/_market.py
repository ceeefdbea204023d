"""``riskdesk bench market``: a full-market option chain imported, stored and loaded back.

What is timed, on a generated chain file (:func:`write_chain`: many underlyings, weekly and
monthly expiries, strikes around each spot, a few bad rows of every kind):

1. ``riskdesk market import``'s path (``ChainFileSource`` -> ``take_snapshot`` ->
   ``Workbench.save_snapshot``) into a temporary SQLite file and, with ``--postgres-url``,
   into PostgreSQL: wall time, rows per second and the peak resident memory of the process
   that ran it (each import runs in a child process of its own, so the peak is that of the
   import alone: ``ru_maxrss`` of the child, not a tracemalloc estimate);
2. loading the stored snapshot back for evaluation (``Workbench.snapshot``, hash verified);
3. the baseline, in the same run: pandas reading the same file (every cell as text, as the
   import reads it).

Targets (issue 14): a 1.5M-row chain in <= 30 s and <= 2 GB peak, loaded back in <= 5 s.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BAD_ROW_KINDS", "MarketBenchResult", "main", "write_chain"]

AS_OF = datetime(2025, 1, 2, 20, 0, tzinfo=UTC)
"""Snapshot time of the generated chain (a Thursday, after the close)."""

IMPORT_TARGET_S = 30.0
PEAK_TARGET_MB = 2048.0
LOAD_TARGET_S = 5.0

BAD_ROW_KINDS: tuple[str, ...] = (
    "strike=abc",
    "ask<bid",
    "expired",
    "option_type=X",
    "negative bid",
    "iv out of range",
    "duplicate contract",
)
"""Kinds of bad rows :func:`write_chain` plants (one of each per ``bad_every`` rows)."""

_HEADER = (
    "underlying,expiration,strike,option_type,bid,ask,iv,volume,open_interest,"
    "quote_time,underlying_price"
)


def _expiries(as_of: date, count: int) -> list[date]:
    """``count`` trading-day expiries after ``as_of``: weeklies, then monthlies."""
    from riskdesk.domain.timeutil import is_trading_day

    out: list[date] = []
    day = as_of + timedelta(days=1)
    weeks = 0
    while len(out) < count:
        if day.weekday() == 4:  # Fridays: weekly for 12 weeks, then every fourth
            weeks += 1
            if weeks <= 12 or weeks % 4 == 0:
                probe = day
                while not is_trading_day(probe):
                    probe -= timedelta(days=1)
                if probe > as_of and probe not in out:
                    out.append(probe)
        day += timedelta(days=1)
    return out


def write_chain(
    path: Path, rows: int, *, seed: int = 14, bad_every: int = 50_000, as_of: datetime = AS_OF
) -> int:
    """Write a full-market chain CSV of about ``rows`` rows; the number written.

    Underlyings ``U0000``, ``U0001``, ... each carry 20 expiries x 50 strikes x call/put
    (2,000 rows), spots between 10 and 1,000, prices to the cent, ``iv`` to 4 places, an
    ``underlying_price`` column (the spots) and an ISO quote time. Every ``bad_every`` rows one
    bad row of each of :data:`BAD_ROW_KINDS` replaces a good one (so each kind is reported).
    """
    rng = np.random.default_rng(seed)
    expiries = _expiries(as_of.date(), 20)
    per_expiry = 100  # 50 strikes x (C, P)
    per_underlying = per_expiry * len(expiries)
    count = max(1, -(-rows // per_underlying))
    spots = np.round(rng.uniform(10.0, 1000.0, count), 2)
    stamp = (as_of - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    exp_text = [d.isoformat() for d in expiries]
    exp_years = np.array([(d - as_of.date()).days / 365.0 for d in expiries])
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(_HEADER + "\n")
        for u in range(count):
            if written >= rows:
                break
            spot = float(spots[u])
            step = max(0.5, round(spot * 0.01, 0) if spot > 50 else 0.5)
            base = round(spot / step) * step
            strikes = base + step * (np.arange(50) - 25)
            strikes = strikes[strikes > 0] if (strikes > 0).all() else np.abs(strikes) + step
            k = np.tile(np.repeat(strikes, 2), len(expiries))
            t = np.repeat(exp_years, per_expiry)
            is_call = np.tile(np.array([True, False]), per_underlying // 2)
            vol = 0.2 + 0.1 * np.log(k / spot) ** 2 + rng.uniform(0.0, 0.05, k.size)
            intrinsic = np.where(is_call, np.maximum(spot - k, 0), np.maximum(k - spot, 0))
            time_value = (
                0.4
                * spot
                * vol
                * np.sqrt(t)
                * np.exp(-0.5 * (np.log(k / spot) / (vol * np.sqrt(t))) ** 2)
            )
            mid = np.maximum(intrinsic + time_value, 0.01)
            half = np.maximum(np.round(mid * 0.02, 2), 0.01)
            bid = np.round(np.maximum(mid - half, 0.0), 2)
            ask = np.round(mid + half, 2)
            iv = np.round(vol, 4)
            volume = rng.integers(0, 5000, k.size)
            oi = rng.integers(0, 50000, k.size)
            symbol = f"U{u:04d}"
            exp_col = np.repeat(np.array(exp_text), per_expiry)
            right = np.where(is_call, "C", "P")
            take = min(per_underlying, rows - written)
            lines = []
            for i in range(take):
                lines.append(
                    f"{symbol},{exp_col[i]},{k[i]:g},{right[i]},{bid[i]:.2f},{ask[i]:.2f},"
                    f"{iv[i]:.4f},{volume[i]},{oi[i]},{stamp},{spot:.2f}"
                )
            _plant_bad_rows(lines, written, bad_every, symbol)
            out.write("\n".join(lines) + "\n")
            written += take
    return written


def _plant_bad_rows(lines: list[str], offset: int, bad_every: int, symbol: str) -> None:
    """Replace a few lines of this block by bad rows (one kind per line, see BAD_ROW_KINDS)."""
    for index in range(len(lines)):
        position = offset + index
        if position % bad_every != 7 or index + len(BAD_ROW_KINDS) >= len(lines):
            continue
        for kind_no, kind in enumerate(BAD_ROW_KINDS):
            at = index + 1 + kind_no
            fields = lines[at].split(",")
            if kind == "strike=abc":
                fields[2] = "abc"
            elif kind == "ask<bid":
                fields[4], fields[5] = "2.00", "1.00"
            elif kind == "expired":
                fields[1] = "2024-12-20"
            elif kind == "option_type=X":
                fields[3] = "X"
            elif kind == "negative bid":
                fields[4] = "-0.05"
            elif kind == "iv out of range":
                fields[6] = "12.5"
            elif kind == "duplicate contract":
                fields = lines[index].split(",")
                fields[0] = symbol
            lines[at] = ",".join(fields)


@dataclass(frozen=True)
class MarketBenchResult:
    """One backend's figures (seconds, megabytes)."""

    backend: str
    rows: int
    rows_ok: int
    import_s: float
    rows_per_s: float
    peak_mb: float
    load_s: float


def _import_and_load(chain: str, url: str, queue: Any) -> None:
    """Child process: the ``market import`` path, then the load; puts the figures on ``queue``."""
    from riskdesk.adapters.files.chains import ChainFileSource
    from riskdesk.domain.market import MarketOverrides, SnapshotMode
    from riskdesk.store.database import Database
    from riskdesk.workbench import Workbench
    from riskdesk.workbench.snapshots import take_snapshot

    db = Database.from_url(url, create=False)
    try:
        start = time.perf_counter()
        source = ChainFileSource(chain, as_of=AS_OF, overrides=MarketOverrides(rate=0.04))
        snapshot = take_snapshot(source, mode=SnapshotMode.LIVE)
        ref = Workbench(db).save_snapshot(snapshot, event="market.imported")
        imported = time.perf_counter() - start
        assert source.report is not None
        rows_read, rows_ok = source.report.rows_read, source.report.rows_ok
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        del snapshot, source
        start = time.perf_counter()
        loaded = Workbench(db).load_snapshot(str(ref.snapshot_id))
        load_s = time.perf_counter() - start
        if loaded.snapshot_hash != ref.snapshot_hash:  # pragma: no cover - load verifies it
            raise RuntimeError("the loaded snapshot does not match the stored hash")
    finally:
        db.dispose()
    queue.put((rows_read, rows_ok, imported, peak, load_s))


def _run_backend(backend: str, chain: Path, url: str) -> MarketBenchResult:
    from riskdesk.store.database import Database
    from riskdesk.store.migrate import upgrade_database

    db = Database.from_url(url)
    try:
        upgrade_database(db.engine)
    finally:
        db.dispose()
    context = multiprocessing.get_context("spawn")  # a fresh process: its own peak RSS
    queue = context.Queue()
    child = context.Process(target=_import_and_load, args=(str(chain), url, queue))
    child.start()
    try:
        rows_read, rows_ok, imported, peak, load_s = queue.get(timeout=3600)
    finally:
        child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"{backend}: the import process exited with {child.exitcode}")
    return MarketBenchResult(
        backend=backend,
        rows=rows_read,
        rows_ok=rows_ok,
        import_s=imported,
        rows_per_s=rows_read / imported,
        peak_mb=peak,
        load_s=load_s,
    )


def _pandas_read_s(chain: Path) -> float:
    import pandas as pd

    start = time.perf_counter()
    pd.read_csv(chain, dtype=str, keep_default_na=False, na_filter=False)
    return time.perf_counter() - start


def main(*, rows: int, postgres_url: str | None, as_json: bool) -> None:
    """Generate ``rows`` rows, import and load them on SQLite (and PostgreSQL); print figures."""
    from rich.console import Console
    from rich.table import Table

    with tempfile.TemporaryDirectory(prefix="riskdesk-bench-market-") as tmp:
        chain = Path(tmp) / "chain.csv"
        written = write_chain(chain, rows)
        baseline = _pandas_read_s(chain)
        results = [_run_backend("sqlite", chain, f"sqlite:///{tmp}/bench.db")]
        if postgres_url is not None:
            results.append(_run_backend("postgresql", chain, postgres_url))
    if as_json:
        payload = {
            "rows": written,
            "pandas_read_s": baseline,
            "targets": {
                "import_s": IMPORT_TARGET_S,
                "peak_mb": PEAK_TARGET_MB,
                "load_s": LOAD_TARGET_S,
            },
            "results": [asdict(r) for r in results],
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    table = Table(title=f"market import of {written:,} rows (pandas read_csv: {baseline:.2f} s)")
    for column in ("backend", "rows ok", "import s", "rows/s", "peak MB", "load s", "vs pandas"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r.backend,
            f"{r.rows_ok:,}",
            _mark(r.import_s, IMPORT_TARGET_S, "{:.1f}"),
            f"{r.rows_per_s:,.0f}",
            _mark(r.peak_mb, PEAK_TARGET_MB, "{:.0f}"),
            _mark(r.load_s, LOAD_TARGET_S, "{:.1f}"),
            f"{r.import_s / baseline:.0f}x",
        )
    Console().print(table)
    Console().print(
        f"targets: import <= {IMPORT_TARGET_S:g} s, peak <= {PEAK_TARGET_MB:g} MB, "
        f"load <= {LOAD_TARGET_S:g} s (met in green, missed in red)"
    )


def _mark(value: float, target: float, fmt: str) -> str:
    colour = "green" if value <= target else "red"
    return f"[{colour}]{fmt.format(value)}[/]"
