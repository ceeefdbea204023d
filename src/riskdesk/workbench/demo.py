"""The demo flow as one use case: the whole workbench job on one database.

:func:`run_demo` migrates the database, generates a synthetic market, stores and pins it,
builds and commits four realistic trades (SPY iron condor, AAPL covered call, QQQ put spread,
SPY 0DTE straddle), evaluates them, compares the condor with the straddle and attributes the
condor's P&L across a simulated intraday move. ``riskdesk demo`` renders what it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from riskdesk.adapters.simulated import generate_market, simulate_live
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.instruments import OptionRight
from riskdesk.domain.market import MarketSnapshot
from riskdesk.domain.trades import TradeDraft
from riskdesk.store import Database, upgrade_database
from riskdesk.workbench.strategies import (
    ChainPicker,
    covered_call,
    iron_condor,
    straddle,
    vertical_spread,
)
from riskdesk.workbench.usecases import EvaluationOutcome, SnapshotRef, VersionRef, Workbench

__all__ = ["DEMO_STEPS", "DEMO_SYMBOLS", "DemoRun", "demo_trades", "run_demo"]

DEMO_SYMBOLS = ("SPY", "QQQ", "IWM", "AAPL")
"""The underlyings of the demo market."""

DEMO_STEPS = 10
"""How many progress steps :func:`run_demo` reports (the sum of its ``advance`` values)."""

Progress = Callable[[str | None, int], None]
"""A progress hook: ``(new description or None, steps completed)``."""


@dataclass(frozen=True, slots=True)
class DemoRun:
    """What the demo produced: the pinned snapshot, the evaluations, comparison, attribution."""

    pinned: SnapshotRef
    evaluations: list[tuple[VersionRef, EvaluationOutcome]]
    comparison: dict[str, Any]
    attribution: dict[str, Any]

    @property
    def snapshot(self) -> MarketSnapshot:
        """The pinned market every trade was evaluated on."""
        return self.pinned.snapshot


def demo_trades(snapshot: MarketSnapshot) -> list[TradeDraft]:
    """The four demo trades, built from ``snapshot``'s chain."""
    return [
        iron_condor(ChainPicker(snapshot, "SPY"), days=35),
        covered_call(ChainPicker(snapshot, "AAPL"), days=30, call=1.05),
        vertical_spread(
            ChainPicker(snapshot, "QQQ"),
            right=OptionRight.PUT,
            days=30,
            long_moneyness=1.0,
            short_moneyness=0.95,
            name="QQQ bear put spread",
        ),
        straddle(ChainPicker(snapshot, "SPY"), days=0, name="SPY 0DTE straddle"),
    ]


def _no_progress(description: str | None, advance: int) -> None:
    del description, advance


def run_demo(
    db: Database,
    *,
    seed: int,
    as_of: datetime,
    move_minutes: int,
    progress: Progress = _no_progress,
) -> DemoRun:
    """Run the demo flow on ``db`` (migrated first) under the default model config and grid.

    Parameters
    ----------
    db : Database
        The database to migrate and use.
    seed : int
        Seed of the synthetic market.
    as_of : datetime
        Timezone-aware market time.
    move_minutes : int
        Length of the simulated move the attribution explains, in minutes.
    progress : Progress
        Called before each step with its description and the steps just completed (they add
        up to :data:`DEMO_STEPS`).

    Returns
    -------
    DemoRun
        The pinned snapshot, the four evaluations, the condor-vs-straddle comparison and the
        condor's attribution.

    """
    bench = Workbench(db)
    config = ModelConfig()
    grid = ScenarioGrid()
    upgrade_database(db.engine)
    progress("generating synthetic market", 1)
    market = generate_market(seed=seed, as_of=as_of, symbols=DEMO_SYMBOLS)
    progress("storing and pinning the snapshot", 1)
    live = bench.save_snapshot(market, event="market.synthesized")
    pinned = bench.pin_snapshot(str(live.snapshot_id))

    progress("building trades from the chain", 1)
    versions = []
    for draft in demo_trades(pinned.snapshot):
        stored = bench.save_draft(draft)
        versions.append(bench.commit_draft(str(stored.draft_id)))
    progress("evaluating trades", 1)
    evaluations = []
    for version in versions:
        outcome = bench.evaluate(version.trade_hash, pinned.snapshot_hash, config, grid)
        evaluations.append((version, outcome))
        progress(None, 1)
    progress("comparing iron condor vs 0DTE straddle", 0)
    comparison = bench.compare(
        versions[0].trade_hash, versions[3].trade_hash, pinned.snapshot_hash, config, grid
    )
    progress("simulating an intraday move", 1)
    *_, later = simulate_live(
        seed=seed, start=as_of, steps=2, step_minutes=move_minutes, symbols=DEMO_SYMBOLS
    )
    moved = bench.save_snapshot(later, event="market.synthesized")
    _, attribution = bench.attribute(
        versions[0].trade_hash,
        pinned.snapshot_hash,
        config,
        compare_ref=moved.snapshot_hash,
    )
    progress("writing report", 1)
    return DemoRun(pinned, evaluations, comparison, attribution)
