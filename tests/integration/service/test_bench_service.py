"""``riskdesk bench service``: percentile maths, the open-loop load generator, and a smoke run.

The smoke run starts a real ``riskdesk serve`` on loopback for about a second per case at a
low rate and checks that the figures it prints are sane (counts, ordering, no errors), never
how fast they are.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest

from riskdesk.bench._service import (
    Sample,
    ServerProcess,
    main,
    percentile,
    run_open_loop,
    summarize,
)


@pytest.mark.parametrize("q", [0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 100.0])
@pytest.mark.parametrize("n", [1, 2, 7, 100, 1001])
def test_percentile_with_random_values_matches_numpy_linear(q: float, n: int) -> None:
    values = list(np.random.default_rng(n).exponential(0.01, n))

    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12)


def test_percentile_with_four_values_interpolates_between_ranks() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([4.0, 1.0, 3.0, 2.0], 100) == 4.0


@pytest.mark.parametrize(
    ("values", "q", "message"),
    [([], 50.0, "at least one value"), ([1.0], 101.0, r"within \[0, 100\]")],
)
def test_percentile_with_bad_input_raises_naming_the_rule(
    values: list[float], q: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        percentile(values, q)


def test_summarize_with_errors_counts_them_and_leaves_them_out_of_percentiles() -> None:
    samples = [
        Sample(0.0, 0.010, 200),
        Sample(0.1, 0.020, 201),
        Sample(0.2, 0.001, 500),
        Sample(0.3, 5.0, 0),
        Sample(0.4, None, 0),
    ]

    stats = summarize(samples)

    assert (stats.requests, stats.errors, stats.dropped) == (5, 3, 1)
    assert stats.p50 == pytest.approx(0.015)
    assert stats.max == pytest.approx(0.020)
    assert stats.throughput == pytest.approx(2 / 0.12)
    assert summarize(samples, scheduled_s=0.5).throughput == pytest.approx(2 / 0.5)


def test_summarize_with_no_success_gives_nan_latencies() -> None:
    stats = summarize([Sample(0.0, 0.01, 503)])

    assert stats.errors == 1
    assert math.isnan(stats.p99)
    assert stats.throughput == 0.0


class _SlowHandler(BaseHTTPRequestHandler):
    """Answers 200 after ``delay`` seconds on ``/ok``, 500 at once on ``/fail``."""

    protocol_version = "HTTP/1.1"
    delay = 0.0

    def do_GET(self) -> None:
        if self.path == "/ok":
            time.sleep(self.delay)
            status = 200
        else:
            status = 500
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def slow_server() -> Iterator[tuple[str, type[_SlowHandler]]]:
    handler = type("Handler", (_SlowHandler,), {"delay": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_run_open_loop_with_fast_server_keeps_the_schedule(
    slow_server: tuple[str, type[_SlowHandler]],
) -> None:
    base_url, _ = slow_server

    samples = run_open_loop(
        lambda client, i: client.get("/ok"),
        base_url=base_url,
        headers={},
        rate=50.0,
        seconds=0.4,
        workers=4,
    )

    assert len(samples) == 20
    assert all(s.ok for s in samples)
    assert [s.due_s for s in samples] == pytest.approx([i / 50.0 for i in range(20)])
    assert all(s.latency_s is not None and s.latency_s >= 0.0 for s in samples)


def test_run_open_loop_with_stalled_server_counts_queueing_as_latency(
    slow_server: tuple[str, type[_SlowHandler]],
) -> None:
    # one worker, 100 ms per request, a request due every 20 ms: request i starts about
    # i * (100 - 20) ms late. A closed-loop client would report ~100 ms for all of them.
    base_url, handler = slow_server
    handler.delay = 0.1

    samples = run_open_loop(
        lambda client, i: client.get("/ok"),
        base_url=base_url,
        headers={},
        rate=50.0,
        seconds=0.2,
        workers=1,
    )

    latencies = [s.latency_s for s in samples]
    assert len(samples) == 10
    assert all(latency is not None for latency in latencies)
    assert latencies[-1] is not None
    assert latencies[-1] >= 0.1 + 9 * 0.08 - 0.02
    assert summarize(samples).p99 > 0.7


def test_run_open_loop_with_saturated_server_drops_late_requests(
    slow_server: tuple[str, type[_SlowHandler]],
) -> None:
    # one worker, 300 ms per request, one due every 20 ms, dropped past 100 ms late: the
    # worker sends request 0, then finds requests 1..14 too late and drops them.
    base_url, handler = slow_server
    handler.delay = 0.3

    started = time.perf_counter()
    samples = run_open_loop(
        lambda client, i: client.get("/ok"),
        base_url=base_url,
        headers={},
        rate=50.0,
        seconds=0.3,
        workers=1,
        max_lag=0.1,
    )

    stats = summarize(samples)
    assert samples[0].ok
    assert stats.dropped >= 10
    assert stats.errors == stats.dropped
    assert all(s.status == 0 for s in samples if s.latency_s is None)
    assert time.perf_counter() - started < 1.5


def test_run_open_loop_with_failures_records_status_and_no_response(
    slow_server: tuple[str, type[_SlowHandler]],
) -> None:
    base_url, _ = slow_server

    def send(client: httpx.Client, i: int) -> httpx.Response:
        if i % 2:
            return client.get("/fail")
        return client.get("http://127.0.0.1:9/closed")  # discard port: connection refused

    samples = run_open_loop(
        send, base_url=base_url, headers={}, rate=100.0, seconds=0.04, workers=2
    )

    assert [s.status for s in samples] == [0, 500, 0, 500]
    assert summarize(samples).errors == 4


def test_run_open_loop_with_bad_rate_raises() -> None:
    with pytest.raises(ValueError, match="rate, seconds and max_lag must be > 0"):
        run_open_loop(
            lambda client, i: client.get("/"),
            base_url="http://127.0.0.1:9",
            headers={},
            rate=0.0,
            seconds=1.0,
            workers=1,
        )


@pytest.mark.slow
def test_bench_service_with_low_rate_prints_sane_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # low enough that even a slow machine computes every fresh evaluation in time
    rate, seconds = 5.0, 1.2

    main(rate=rate, seconds=seconds, repeats=1, workers=4, as_json=True)

    report = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in report["results"]}
    assert report["results"][0]["kind"].startswith("baseline")
    assert set(rows) >= {"health", "chain read", "evaluate (cached)", "evaluate (fresh)"}
    for row in report["results"]:
        assert row["requests"] == round(rate * seconds), row
        assert row["errors"] == 0, row
        assert 0 < row["p50_s"] <= row["p90_s"] <= row["p99_s"] <= row["max_s"] < 30, row
        assert 0 < row["throughput_rps"] <= rate * 1.0001, row
        assert 0 <= row["client_cpu"] < 4, row
    for name in ("evaluate (cached)", "evaluate (fresh)"):
        assert rows[name]["target_p99_s"] == 0.05
        assert rows[name]["meets_target"] is None  # 20 req/s is not the 100 req/s target
    assert rows["health"]["target_p99_s"] is None


class _Boom(Exception):
    pass


def _serve_then_fail(server: ServerProcess, seen: dict[str, int]) -> None:
    with server:
        assert server.process is not None
        seen["pid"] = server.process.pid
        seen["health"] = httpx.get(f"{server.base_url}/v1/health", timeout=5).status_code
        raise _Boom


@pytest.mark.slow
def test_server_process_with_error_inside_is_stopped(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "bench")
    seen: dict[str, int] = {}

    with pytest.raises(_Boom):
        _serve_then_fail(server, seen)

    assert seen["health"] == 200
    assert server.process is None
    with pytest.raises(ProcessLookupError):
        os.kill(seen["pid"], 0)  # terminated and reaped
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/v1/health", timeout=5)
