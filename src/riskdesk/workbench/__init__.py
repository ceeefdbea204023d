"""Seed-000 workbench use cases: snapshots, drafts, versions, evaluation, compare, attribution."""

from riskdesk.workbench.usecases import (
    DraftRef,
    EvaluationOutcome,
    SnapshotRef,
    TradeRef,
    VersionRef,
    Workbench,
)

__all__ = ["DraftRef", "EvaluationOutcome", "SnapshotRef", "TradeRef", "VersionRef", "Workbench"]
