"""Reference rows that every riskdesk database starts with (seed 002 section 4).

The initial migration inserts the same rows with the same ids; ``riskdesk db purge`` puts
them back after deleting everything.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = [
    "FACTOR_DEFINITIONS",
    "REFERENCE_NAMESPACE",
    "STRESS_SCENARIOS",
    "factor_id",
    "reference_rows",
    "scenario_id",
]

REFERENCE_NAMESPACE = uuid.UUID("6f1c4a52-2d0e-4e43-9a55-7c1d2b9e0a11")

FACTOR_DEFINITIONS: tuple[tuple[str, str, str, int], ...] = (
    ("market_beta", "Market Beta", "style", 1),
    ("momentum", "Momentum", "style", 2),
    ("value", "Value", "style", 3),
    ("growth", "Growth", "style", 4),
    ("quality", "Quality", "style", 5),
    ("size", "Size", "style", 6),
    ("short_interest", "Short Interest", "technical", 7),
    ("volatility", "Volatility", "technical", 8),
)
"""(name, display_name, category, sort_order)."""

STRESS_SCENARIOS: tuple[tuple[str, str, int], ...] = (
    ("Market Up 10%", "sensitivity", 1),
    ("Market Down 10%", "sensitivity", 2),
    ("Rates Up 0.25%", "sensitivity", 3),
    ("Rates Down 0.25%", "sensitivity", 4),
    ("Oil Up 5%", "sensitivity", 5),
    ("Oil Down 5%", "sensitivity", 6),
    ("2008 Financial Crisis", "historical", 7),
    ("COVID-19 Crash", "historical", 8),
)
"""(name, scenario_type, sort_order)."""


def factor_id(name: str) -> uuid.UUID:
    """Return the fixed id of a default factor (same in every database)."""
    return uuid.uuid5(REFERENCE_NAMESPACE, f"factor:{name}")


def scenario_id(name: str) -> uuid.UUID:
    """Return the fixed id of a default stress scenario (same in every database)."""
    return uuid.uuid5(REFERENCE_NAMESPACE, f"scenario:{name}")


def reference_rows() -> dict[str, list[dict[str, Any]]]:
    """Rows per table, as column dicts."""
    return {
        "factor_definitions": [
            {
                "id": factor_id(name),
                "name": name,
                "display_name": display,
                "category": category,
                "sort_order": order,
            }
            for name, display, category, order in FACTOR_DEFINITIONS
        ],
        "stress_scenarios": [
            {"id": scenario_id(name), "name": name, "scenario_type": kind, "sort_order": order}
            for name, kind, order in STRESS_SCENARIOS
        ],
    }
