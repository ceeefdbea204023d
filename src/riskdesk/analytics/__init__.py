"""Workbench analytics (seed 000): evaluate, compare, attribute, revalue, diagnose snapshots.

Pure engines over domain objects: no SQL, HTTP or files. The store keys their results by
the hashes of (trade, snapshot, model config, scenario grid).
"""

from riskdesk.analytics._common import Issue, NonFiniteResultError
from riskdesk.analytics._results import AttributionJson, ComparisonJson, EvaluationJson
from riskdesk.analytics.attribution import (
    AttributionResult,
    LegAttribution,
    LegState,
    MarketState,
    attribute,
    attribute_snapshots,
    days_forward_state,
    market_state,
)
from riskdesk.analytics.compare import ComparisonResult, compare
from riskdesk.analytics.diagnostics import snapshot_diagnostics, snapshot_iv_statuses
from riskdesk.analytics.evaluate import (
    Breakeven,
    EvaluationResult,
    Extremum,
    LegEvaluation,
    evaluate,
)
from riskdesk.analytics.revalue import (
    BookRevaluation,
    BookScenarios,
    OptionBook,
    book_from_trades,
    revalue_book,
)

__all__ = [
    "AttributionJson",
    "AttributionResult",
    "BookRevaluation",
    "BookScenarios",
    "Breakeven",
    "ComparisonJson",
    "ComparisonResult",
    "EvaluationJson",
    "EvaluationResult",
    "Extremum",
    "Issue",
    "LegAttribution",
    "LegEvaluation",
    "LegState",
    "MarketState",
    "NonFiniteResultError",
    "OptionBook",
    "attribute",
    "attribute_snapshots",
    "book_from_trades",
    "compare",
    "days_forward_state",
    "evaluate",
    "market_state",
    "revalue_book",
    "snapshot_diagnostics",
    "snapshot_iv_statuses",
]
