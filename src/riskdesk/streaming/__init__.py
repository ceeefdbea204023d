"""Streaming Greeks from brokers (issue 12, seed 003): the pipeline's pure core.

* :mod:`~riskdesk.streaming.records` -- :class:`UnifiedPositionRecord` (one normalized Greeks
  event, 1:1 with a ``greek_snapshots`` row and a journal JSON line) and the contract key;
* :mod:`~riskdesk.streaming.normalize` -- adapter events to records, counted rejections, the
  latest view per contract;
* :mod:`~riskdesk.streaming.session` -- the session state machine and reconnect backoff;
* :mod:`~riskdesk.streaming.metrics` -- counters, gauges and latency percentiles.

Those modules do no I/O, read no clock and start no threads. Durability is apart, imported by
name: :mod:`~riskdesk.streaming.journal` (the append-only, group-committed journal) and
:mod:`~riskdesk.streaming.writer` (the batched writer into ``greek_snapshots``).
"""

from riskdesk.streaming.metrics import LatencyWindow, StreamMetrics
from riskdesk.streaming.normalize import (
    REJECT_REASONS,
    GreeksTick,
    LatestView,
    Normalizer,
    NormalizeResult,
    PositionUpdate,
    resolve_symbol,
)
from riskdesk.streaming.records import (
    ContractKey,
    RecordError,
    UnifiedPositionRecord,
    canonical_strike,
    contract_key,
    parse_contract_key,
)
from riskdesk.streaming.session import (
    STATUSES,
    Backoff,
    SessionPolicy,
    SessionTransitionError,
    Step,
    StreamSession,
)

__all__ = [
    "REJECT_REASONS",
    "STATUSES",
    "Backoff",
    "ContractKey",
    "GreeksTick",
    "LatencyWindow",
    "LatestView",
    "NormalizeResult",
    "Normalizer",
    "PositionUpdate",
    "RecordError",
    "SessionPolicy",
    "SessionTransitionError",
    "Step",
    "StreamMetrics",
    "StreamSession",
    "UnifiedPositionRecord",
    "canonical_strike",
    "contract_key",
    "parse_contract_key",
    "resolve_symbol",
]
