"""The demo's streaming job on SQLite: a fake DXLink broker, the real client, the Ingestor."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine

from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker
from riskdesk.reporting.html import render_report
from riskdesk.reporting.stream_charts import STREAM_TITLE
from riskdesk.store.database import Database
from riskdesk.store.db import make_session_factory
from riskdesk.streaming.demo import SERIES, StreamDemo, run_stream_demo

SEED = 3
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def book_size() -> int:
    return len(FakeDxlinkBroker(seed=SEED).positions)


@pytest.fixture
def demo(migrated_engine: Engine) -> StreamDemo:
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    return run_stream_demo(db, seed=SEED, seconds=1.5, rate=400)


def test_run_stream_demo_with_sqlite_gives_a_series_per_position_and_stores_every_tick(
    demo: StreamDemo, book_size: int
) -> None:
    data = demo.to_dict()
    counts = data["counts"]

    assert len(data["positions"]) == book_size
    for position in data["positions"]:
        assert position["points"] > 1, position["contract_key"]
        for name in ("times", *SERIES):
            assert len(position[name]) == position["points"], name
        assert position["times"] == sorted(position["times"])
        assert all(v is not None for v in position["delta"])
        assert position["quantity"] not in (None, "0")
    assert counts["received"] > 0
    assert counts["persisted"] == counts["received"]
    assert counts["journaled"] == counts["received"]
    assert counts["deduped"] == 0
    assert counts["rejected"] == 0
    assert counts["sent_greeks"] >= counts["received"]
    assert counts["sent"] > counts["sent_greeks"]  # the quotes too
    assert sum(p["points"] for p in data["positions"]) == counts["persisted"]
    assert counts["p95_tick_to_durable_ms"] is not None
    json.dumps(data, allow_nan=False)  # JSON-ready


@SQLITE_ONLY
def test_run_stream_demo_with_an_earlier_run_in_the_database_reads_this_run_only(
    migrated_engine: Engine,
) -> None:
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))
    first = run_stream_demo(db, seed=SEED, seconds=0.5, rate=400)

    second = run_stream_demo(db, seed=SEED, seconds=0.5, rate=400)

    assert sum(len(p.times) for p in first.positions) == first.counts["persisted"]
    assert sum(len(p.times) for p in second.positions) == second.counts["persisted"]


@SQLITE_ONLY
def test_run_stream_demo_with_a_rate_out_of_range_names_the_rule(migrated_engine: Engine) -> None:
    db = Database(engine=migrated_engine, sessions=make_session_factory(migrated_engine))

    with pytest.raises(ValueError, match=r"rate must be a number in \(0, 5000\], got -1"):
        run_stream_demo(db, seed=SEED, rate=-1)


@SQLITE_ONLY
def test_report_with_a_stream_demo_holds_the_section_chart_and_counts(demo: StreamDemo) -> None:
    data = demo.to_dict()

    text = render_report(title="t", subtitle="s", sections=[], streaming=data)

    assert f"<h2>{STREAM_TITLE}</h2>" in text
    assert text.count("plotly-graph-div") == 1
    assert "Greeks over time: " in text
    assert "tick-to-durable p50 / p95 / p99" in text
    for position in data["positions"]:
        assert position["contract_key"] in text
    assert "<script src=" not in text  # plotly.js is inlined: the report works offline
