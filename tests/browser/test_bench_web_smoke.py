"""``riskdesk bench web``: one run of every case in real Chromium; the report's structure.

The timing targets are never asserted here (the machine is shared): only that every case ran,
measured something, compared it with its target and a same-run baseline, and profiled it.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

import riskdesk.bench._web as web


@pytest.fixture(scope="module")
def executable() -> str:
    """Chromium, found (or skipped) as the browser fixture does."""
    found = (
        os.environ.get("RISKDESK_TEST_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if found is None:
        if os.environ.get("RISKDESK_REQUIRE_BROWSER"):
            pytest.fail("no Chromium: install Debian's chromium or set RISKDESK_TEST_CHROMIUM")
        pytest.skip("no Chromium on this machine (scripts/test.sh installs Debian's chromium)")
    return found


@pytest.fixture(scope="module")
def report(executable: str) -> dict[str, Any]:
    """One bench run (repeats=1)."""
    return web.measure(repeats=1, chromium=executable)


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_bench_web_with_one_repeat_reports_every_page_cold_and_warm(
    report: dict[str, Any],
) -> None:
    first = [r for r in report["results"] if r["kind"] == "first_render"]

    assert [(r["page"], r["cache"]) for r in first] == [
        (page, cache) for page in web.PAGES for cache in ("cold", "warm")
    ]
    for row in first:
        assert row["target_ms"] == web.TARGET_FIRST_RENDER_MS
        assert row["samples_ms"] == [row["median_ms"]] == [row["min_ms"]] == [row["max_ms"]]
        assert 0 < row["median_ms"] < 30_000, row["case"]
        assert row["ok"] is (row["median_ms"] <= row["target_ms"])
        assert row["baseline_ms"] >= 0
        assert set(row["profile"]) >= {"document_ms", "requests", "slowest", "long_task_ms"}
        assert row["profile"]["requests"] >= 1, row["case"]  # at least the shell's files
    login = [r for r in first if r["page"] == "login"]
    assert all(r["baseline"].startswith("0 /v1 request(s)") for r in login)
    compare = next(r for r in first if r["page"] == "compare")
    assert not compare["baseline"].startswith("0 "), "the compare page made no /v1 request"


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_bench_web_with_one_repeat_measures_recomputes_that_change_the_numbers(
    report: dict[str, Any],
) -> None:
    recompute = [r for r in report["results"] if r["kind"] == "recompute"]

    assert [r["case"] for r in recompute] == [
        "compare: leg quantity edit -> table",
        "compare: leg exclude -> table",
        "compare: leg include back -> table",
    ]
    for row in recompute:
        (before, after), *_ = row["values"]
        assert before != after, row["case"]
        assert row["target_ms"] == web.TARGET_RECOMPUTE_MS
        assert 0 < row["median_ms"] <= row["painted_median_ms"]
        assert row["page_api_median_ms"] is not None
        assert row["baseline_ms"] > 0
        assert row["profile"]["requests"] >= 1, row["case"]  # the leg change, /v1/compare
    edit, exclude, include = (r["values"][0] for r in recompute)
    assert edit[1] == exclude[0]
    assert exclude[1] == include[0]
    assert include[1] == edit[1]  # the leg is back: trade A's value of after the edit
    assert report["misses"] == [r["case"] for r in report["results"] if r["ok"] is False]
    assert report["repeats"] == 1
    assert report["cpus"] >= 1


def test_bench_web_with_a_missing_chromium_path_raises_a_clear_error() -> None:
    with pytest.raises(web.BenchWebError, match="no Chromium at '/nonexistent/chromium'"):
        web.chromium_path("/nonexistent/chromium")


def test_bench_web_dominant_with_a_slow_request_names_it_first() -> None:
    row = {
        "profile": {
            "document_ms": 40.0,
            "slowest": [
                {
                    "name": "/v1/risk/01a22ff2-246c-70aa-ba80-f78fb152d0bd/var?window=250",
                    "ms": 1450.0,
                }
            ],
            "long_tasks": 2,
            "long_task_ms": 300.0,
        }
    }

    assert web.dominant(row) == "/v1/risk/{id}/var 1450, long tasks 300, document 40"
