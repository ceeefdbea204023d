from __future__ import annotations

import riskdesk.analytics as analytics


def test_analytics_package_with_public_names_exports_exactly_the_engine_api() -> None:
    assert sorted(analytics.__all__) == [
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
    for name in analytics.__all__:
        assert getattr(analytics, name) is not None
