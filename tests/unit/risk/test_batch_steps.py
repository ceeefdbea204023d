"""The batch's step order, its settings' checks and its retry of transient database locks."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from riskdesk.risk import batch
from riskdesk.risk.batch import STEPS, BatchSettings
from riskdesk.store import batch as repo


def _locked() -> sa_exc.OperationalError:
    return sa_exc.OperationalError(
        "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
    )


def test_steps_with_seed_order_run_prices_first_and_correlations_last() -> None:
    assert STEPS == (
        "prices",
        "returns",
        "position_values",
        "greeks",
        "factors",
        "market_risk",
        "stress",
        "snapshot",
        "correlations",
    )


@pytest.mark.parametrize("field", ["var_window", "factor_window", "correlation_window"])
@pytest.mark.parametrize("value", [19, 0, True, 2.5])
def test_batch_settings_with_a_bad_window_is_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        BatchSettings(**{field: value})  # type: ignore[arg-type]


def test_is_transient_with_a_locked_sqlite_database_is_true_and_other_errors_false() -> None:
    wrapped = RuntimeError("step failed")
    wrapped.__cause__ = _locked()
    integrity = sa_exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE failed"))

    assert repo.is_transient(_locked())
    assert repo.is_transient(wrapped)
    assert not repo.is_transient(integrity)
    assert not repo.is_transient(ValueError("no close"))


def test_error_text_with_a_database_error_has_no_sql() -> None:
    text = repo.error_text(_locked())

    assert "locked" in text
    assert "BEGIN IMMEDIATE" not in text


def test_retrying_with_a_lock_that_clears_returns_the_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("riskdesk.risk.batch.time.sleep", pauses.append)
    calls = iter([_locked(), _locked(), None])

    def work() -> str:
        error = next(calls)
        if error is not None:
            raise error
        return "done"

    assert batch._retrying(work) == "done"
    assert pauses == [0.5, 1.0]


def test_retrying_with_a_lasting_lock_or_another_error_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("riskdesk.risk.batch.time.sleep", pauses.append)
    attempts: list[int] = []

    def locked() -> None:
        attempts.append(1)
        raise _locked()

    def broken() -> None:
        raise ValueError("not transient")

    with pytest.raises(sa_exc.OperationalError):
        batch._retrying(locked)
    assert len(attempts) == 6
    assert pauses == [0.5, 1.0, 2.0, 4.0, 8.0]
    with pytest.raises(ValueError, match="not transient"):
        batch._retrying(broken)
    assert len(pauses) == 5
