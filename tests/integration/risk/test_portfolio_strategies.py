"""Strategy groups of a stored book on both backends: detected on read, edited and stored.

The user's groups are stored (``strategy_groups`` and ``positions.strategy_group_id``) and hold
their positions whole; the rest is detected on every read. Checked against hand-read
structures of the book below.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from riskdesk.domain.caller import Caller
from riskdesk.risk.portfolios import NotFoundError, Portfolios
from riskdesk.store import Database, make_session_factory
from riskdesk.store.models.portfolio import Position, StrategyGroup

TODAY = date(2026, 3, 2)

# an iron condor on SPY (4 legs), a bull call spread on AAPL, 300 AAPL shares and 2 short
# AAPL calls (a covered call of ratio 2 with 100 shares left), one lone MSFT put
BOOK = (
    "ticker,quantity,entry_price,entry_date,tags\n"
    "SPY261218P00500000,1,4,2026-02-02,\n"
    "SPY261218P00520000,-1,6,2026-02-02,\n"
    "SPY261218C00640000,-1,5,2026-02-02,\n"
    "SPY261218C00660000,1,3,2026-02-02,\n"
    "AAPL261218C00200000,3,12,2026-02-03,\n"
    "AAPL261218C00220000,-3,6,2026-02-03,\n"
    "AAPL,300,190,2026-02-04,\n"
    "AAPL261218C00250000,-2,2,2026-02-04,\n"
    "MSFT261218P00380000,1,9,2026-02-05,\n"
)


@pytest.fixture
def book(migrated_engine: Engine) -> tuple[Portfolios, Database]:
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    use_cases = Portfolios(db)
    use_cases.create("strats")
    report = use_cases.import_csv("strats", BOOK.encode(), today=TODAY)
    assert report.imported == 9
    return use_cases, db


def _groups(use_cases: Portfolios) -> dict[str, tuple[str, bool, set[tuple[str, str]]]]:
    data = use_cases.strategies("strats").to_dict()
    return {
        g["name"]: (
            g["strategy_type"],
            g["user_defined"],
            {(leg["ticker"], leg["quantity"]) for leg in g["legs"]},
        )
        for g in data["groups"]
    }


def test_strategies_with_mixed_book_detects_each_structure(
    book: tuple[Portfolios, Database],
) -> None:
    use_cases, _ = book
    groups = _groups(use_cases)
    kinds = sorted(kind for kind, _, _ in groups.values())
    assert kinds == ["COVERED_CALL", "IRON_CONDOR", "VERTICAL_CALL"]
    condor = [legs for kind, _, legs in groups.values() if kind == "IRON_CONDOR"]
    assert condor == [
        {
            ("SPY261218P00500000", "1"),
            ("SPY261218P00520000", "-1"),
            ("SPY261218C00640000", "-1"),
            ("SPY261218C00660000", "1"),
        }
    ]
    covered = [legs for kind, _, legs in groups.values() if kind == "COVERED_CALL"]
    assert covered == [{("AAPL", "200"), ("AAPL261218C00250000", "-2")}]
    rest = {
        (leg["ticker"], leg["quantity"])
        for leg in use_cases.strategies("strats").to_dict()["ungrouped"]
    }
    assert rest == {("AAPL", "100"), ("MSFT261218P00380000", "1")}


def test_group_with_positions_stores_user_group_whole_and_typed(
    book: tuple[Portfolios, Database],
) -> None:
    use_cases, db = book
    edit = use_cases.group("strats", ["AAPL", "MSFT261218P00380000"], "  my hedge ")
    assert edit.group == "my hedge"
    assert edit.strategy_type == "CUSTOM"
    groups = _groups(use_cases)
    assert groups["my hedge"] == ("CUSTOM", True, {("AAPL", "300"), ("MSFT261218P00380000", "1")})
    # the short AAPL calls lost their shares: no covered call any more, they are ungrouped
    assert not [k for k, _, _ in groups.values() if k == "COVERED_CALL"]
    detail = use_cases.get("strats")
    assert {p.symbol for p in detail.positions if p.strategy == "my hedge"} == {
        "AAPL",
        "MSFT261218P00380000",
    }
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(StrategyGroup)) == 1

    # the two spread legs named as a group are typed by what they form
    ids = [p.position_id for p in detail.positions if p.symbol.startswith("AAPL2612")][:2]
    spread = use_cases.group("strats", ids, "aapl spread")
    assert spread.strategy_type == "VERTICAL_CALL"


def test_ungroup_with_last_member_deletes_group_and_redetects(
    book: tuple[Portfolios, Database],
) -> None:
    use_cases, db = book
    before = _groups(use_cases)
    use_cases.group("strats", ["AAPL"], "core")
    edit = use_cases.ungroup("strats", ["AAPL"])
    assert edit.removed_groups == ("core",)
    assert _groups(use_cases) == before
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(StrategyGroup)) == 0
        assert (
            session.scalar(
                select(func.count())
                .select_from(Position)
                .where(Position.strategy_group_id.is_not(None))
            )
            == 0
        )


def test_group_with_bad_references_refuses_and_changes_nothing(
    book: tuple[Portfolios, Database],
) -> None:
    use_cases, db = book
    with pytest.raises(NotFoundError, match="no position with this ticker"):
        use_cases.group("strats", ["AAPL", "TSLA"], "x")
    with pytest.raises(NotFoundError, match="no position with this id"):
        use_cases.group("strats", [str(uuid.uuid4())], "x")
    with pytest.raises(ValueError, match="non-empty name"):
        use_cases.group("strats", ["AAPL"], "   ")
    with pytest.raises(ValueError, match="at least one position"):
        use_cases.ungroup("strats", [])
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(StrategyGroup)) == 0


def test_group_with_other_users_portfolio_is_not_found(
    book: tuple[Portfolios, Database],
) -> None:
    _, db = book
    stranger = Caller(user_id=uuid.uuid4(), actor="stranger")
    with pytest.raises(NotFoundError):
        Portfolios(db, stranger).group("strats", ["AAPL"], "mine")
    with pytest.raises(NotFoundError):
        Portfolios(db, stranger).strategies("strats")


def test_greeks_by_strategy_with_user_group_bucket_it_whole(
    book: tuple[Portfolios, Database],
) -> None:
    from riskdesk.risk.exposures import Grouping
    from riskdesk.risk.history_usecases import PriceHistory
    from riskdesk.risk.reports import RiskReports

    use_cases, db = book
    PriceHistory(db).synthesize(["SPY", "AAPL", "MSFT"], seed=5, end=TODAY, days=40)
    use_cases.group("strats", ["AAPL", "MSFT261218P00380000"], "my hedge")
    report = RiskReports(db).greeks("strats", TODAY, by=(Grouping.STRATEGY,)).to_dict()
    buckets = {b["key"]: b for b in report["by"]["strategy"]}
    assert "my hedge" in buckets
    assert buckets["my hedge"]["count"] == 2
    assert buckets["my hedge"]["kind"] == "CUSTOM"
    whole = RiskReports(db).greeks("strats", TODAY, by=(Grouping.UNDERLYING,)).to_dict()
    underlying = {b["key"]: b for b in whole["by"]["underlying"]}
    # the group holds all of MSFT's delta (its one position) and all of AAPL's shares
    assert Decimal(buckets["my hedge"]["delta"]) == Decimal(underlying["MSFT"]["delta"]) + (
        Decimal(300)
    )
