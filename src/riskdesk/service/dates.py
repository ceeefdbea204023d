"""The session a route measures on when the caller names none."""

from __future__ import annotations

from datetime import UTC, date, datetime

from riskdesk.risk.history import last_sessions

__all__ = ["session_or_last"]


def session_or_last(on: date | None) -> date:
    """``on``, or the last NYSE session on or before today (UTC)."""
    return on if on is not None else last_sessions(datetime.now(UTC).date(), 2)[-1]
