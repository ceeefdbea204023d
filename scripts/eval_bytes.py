"""Print one SHA-256 per analytics output of the demo trades (a byte-identity check).

Generates the synthetic market exactly as ``riskdesk demo`` does (seed 7, the demo's as-of,
symbols and move), pins it in memory, builds the four demo trades with
:mod:`riskdesk.workbench.strategies`, evaluates each with :func:`riskdesk.analytics.evaluate`
under the demo's default :class:`~riskdesk.domain.configs.ModelConfig` and
:class:`~riskdesk.domain.configs.ScenarioGrid`, compares the iron condor with the 0DTE
straddle and attributes the condor's P&L across the simulated move, then prints the SHA-256
of :func:`riskdesk.domain.hashing.canonical_json` of every ``to_json_dict()`` (and of the
snapshot diagnostics). No database is used.

Usage::

    python scripts/eval_bytes.py > /tmp/eval_bytes.txt
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from datetime import UTC, datetime
from typing import Any

from riskdesk.adapters.simulated import generate_market, simulate_live
from riskdesk.analytics import attribute, compare, evaluate, market_state
from riskdesk.domain.configs import ModelConfig, ScenarioGrid
from riskdesk.domain.hashing import canonical_json
from riskdesk.domain.market import SnapshotMode
from riskdesk.domain.trades import TradeDraft
from riskdesk.workbench.demo import demo_trades

SEED = 7
"""``riskdesk demo --seed`` default."""
MOVE_MINUTES = 240
"""``riskdesk demo --move-minutes`` default."""
DEMO_AS_OF = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
"""``riskdesk.cli.demo.DEMO_AS_OF`` (kept here so the check does not depend on the CLI)."""
DEMO_SYMBOLS = ("SPY", "QQQ", "IWM", "AAPL")
"""``riskdesk.cli.demo.DEMO_SYMBOLS``."""


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def main() -> int:
    """Print ``<name> <sha256>`` for every output; return the process exit code."""
    when = DEMO_AS_OF
    market = generate_market(seed=SEED, as_of=when, symbols=DEMO_SYMBOLS)
    snap = dataclasses.replace(market, mode=SnapshotMode.PINNED)
    config = ModelConfig()
    grid = ScenarioGrid()
    drafts: list[TradeDraft] = demo_trades(snap)
    versions = [draft.commit() for draft in drafts]
    lines = [f"snapshot.diagnostics {_digest(dict(snap.diagnostics))}"]
    for version in versions:
        data = evaluate(version, snap, config, grid).to_json_dict()
        lines.append(f"evaluate[{version.name}] {_digest(data)}")
    comparison = compare(versions[0], versions[3], snap, config, grid).to_json_dict()
    lines.append(f"compare[condor,straddle] {_digest(comparison)}")
    *_, later = simulate_live(
        seed=SEED, start=when, steps=2, step_minutes=MOVE_MINUTES, symbols=DEMO_SYMBOLS
    )
    base = market_state(versions[0], snap, config)
    moved = market_state(versions[0], later, config)
    attribution = attribute(versions[0], base, moved, config).to_json_dict()
    lines.append(f"attribute[condor] {_digest(attribution)}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
