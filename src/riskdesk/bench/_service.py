"""``riskdesk bench service``: latency and throughput of the HTTP service on loopback.

A real ``riskdesk serve`` process on a fresh SQLite file in a temporary directory, driven by
a real HTTP client (httpx, one keep-alive connection per worker thread) at a fixed request
rate. The load is *open-loop*: request ``i`` is due at ``t0 + i / rate`` whatever happened to
the requests before it, and its latency is measured from that scheduled time, so a server
that stalls shows up as latency instead of silently lowering the send rate (no coordinated
omission).

Cases, measured round-robin ``repeats`` times (medians of each figure reported):

1. ``GET /v1/health`` -- the baseline: the floor of the HTTP stack (client, uvicorn,
   middleware, JSON) on this machine in this run, so the other figures can be compared
   across machines.
2. chain read -- ``GET /v1/market/chains/SPY?snapshot=<id>``: one stored snapshot's chain.
3. evaluate (cached) -- ``POST /v1/evaluate`` of a 4-leg iron condor with the same body
   every time: after the first call, a cache hit (stored bytes, digest verified).
4. evaluate (fresh) -- the same trade, but every request moves the scenario grid's upper
   spot bound by a tiny amount (same grid size, so the same work), so each one computes,
   stores and returns a new evaluation.

Target (issue 9): evaluate p99 <= 50 ms at 100 requests/s on SQLite.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from rich import box
from rich.console import Console
from rich.table import Table

__all__ = [
    "BenchServiceError",
    "CaseStats",
    "Sample",
    "ServerProcess",
    "main",
    "percentile",
    "run_open_loop",
    "run_service_bench",
    "summarize",
]

TARGET_P99_S = 0.050
"""Issue 9: evaluate p99 at most 50 ms ..."""
TARGET_RATE = 100.0
"""... at 100 requests/s (on SQLite)."""

BENCH_USER = "bench"
BENCH_PASSWORD = "bench-password-0001"  # a throwaway user of a temporary database
SYMBOL = "SPY"
STARTUP_TIMEOUT_S = 90.0
"""Longest wait for the server to answer ``/v1/health`` (imports and numba cache loads)."""
REQUEST_TIMEOUT_S = 30.0
"""Client timeout of one request: a request slower than this counts as an error."""
MAX_LAG_S = 5.0
"""A request that could not be sent within this long of its due time is dropped (counted
as an error): a saturated server then sees at most ``workers`` requests at once, and a run
ends at most ``MAX_LAG_S + REQUEST_TIMEOUT_S`` after its last request was due."""
SETTLE_LATENCY_S = 0.05
SETTLE_TIMEOUT_S = 60.0
"""Between runs, wait (at most this long) until ``/v1/health`` answers twice within
``SETTLE_LATENCY_S``: work left over from a saturated run never lands in the next one."""
WARMUP_REQUESTS = 5
CONNECT_PATH = "/v1/health"
"""Requested once by each worker's client before a run, to open its connection."""


class BenchServiceError(Exception):
    """The benchmark could not run: the server did not start, or setup over HTTP failed."""


# -- statistics ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``values``, interpolated linearly between closest ranks.

    The same definition as ``numpy.percentile(values, q)`` (method ``"linear"``): with the
    values sorted as ``x[0] <= ... <= x[n-1]``, ``h = (n - 1) * q / 100`` and the result is
    ``x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])``.

    Parameters
    ----------
    values
        The samples (any order); at least one.
    q
        Percentile in ``[0, 100]``.

    Returns
    -------
    float
        The percentile; ``percentile([1, 2, 3, 4], 50) == 2.5``.

    Raises
    ------
    ValueError
        With no values, or ``q`` outside ``[0, 100]``.

    """
    if not values:
        raise ValueError("percentile needs at least one value, got none")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be within [0, 100], got {q}")
    ordered = sorted(values)
    h = (len(ordered) - 1) * q / 100.0
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


@dataclass(frozen=True, slots=True)
class Sample:
    """One request of a run.

    Attributes
    ----------
    due_s
        Scheduled send time, seconds after the run's start.
    latency_s
        From the scheduled send time to the end of the response (None: dropped, never sent,
        because no worker was free within ``MAX_LAG_S`` of its due time).
    status
        HTTP status (0: no response: dropped, connection error or client timeout).

    """

    due_s: float
    latency_s: float | None
    status: int

    @property
    def ok(self) -> bool:
        """True for a 2xx response."""
        return 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class CaseStats:
    """Figures of one run of one case (seconds; percentiles over the 2xx responses).

    Attributes
    ----------
    requests
        Requests scheduled.
    errors
        Requests without a 2xx response (non-2xx status, no response, or dropped).
    dropped
        Of the errors, requests never sent (no worker free within ``MAX_LAG_S``).
    throughput
        2xx responses per second (see :func:`summarize`).
    p50, p90, p99, max
        Latency percentiles of the 2xx responses (NaN when there were none).

    """

    requests: int
    errors: int
    dropped: int
    throughput: float
    p50: float
    p90: float
    p99: float
    max: float


def summarize(samples: Sequence[Sample], *, scheduled_s: float = 0.0) -> CaseStats:
    """Requests, errors, achieved throughput and latency percentiles of one run.

    Throughput is the 2xx responses over the longer of ``scheduled_s`` (the schedule's
    length, ``requests / rate``) and the time of the last 2xx response: exactly the rate
    when the server keeps up, less when it falls behind.
    """
    ok = [s for s in samples if s.ok and s.latency_s is not None]
    latencies = [s.latency_s for s in ok if s.latency_s is not None]
    span = max((s.due_s + (s.latency_s or 0.0) for s in ok), default=0.0)
    span = max(span, scheduled_s)
    nan = float("nan")
    return CaseStats(
        requests=len(samples),
        errors=len(samples) - len(ok),
        dropped=sum(1 for s in samples if s.latency_s is None),
        throughput=len(ok) / span if span > 0 else 0.0,
        p50=percentile(latencies, 50) if latencies else nan,
        p90=percentile(latencies, 90) if latencies else nan,
        p99=percentile(latencies, 99) if latencies else nan,
        max=max(latencies) if latencies else nan,
    )


def _median(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else float("nan")


# -- load generator --------------------------------------------------------------------------

Send = Callable[[httpx.Client, int], httpx.Response]
"""Sends request number ``i`` of a run on a worker's client and returns the response."""


def run_open_loop(
    send: Send,
    *,
    base_url: str,
    headers: dict[str, str],
    rate: float,
    seconds: float,
    workers: int,
    max_lag: float = MAX_LAG_S,
) -> list[Sample]:
    """Send ``round(rate * seconds)`` requests at a fixed rate; latency from the due time.

    Request ``i`` is due ``i / rate`` seconds after the start. ``workers`` threads, each with
    its own keep-alive :class:`httpx.Client`, take the next request in order, sleep until it
    is due (never before), send it and record the time from its due time to the end of its
    response. When every worker is busy, the next request goes out late and that delay is
    part of its latency. Each client opens its connection (``GET /v1/health``, not
    measured) before the schedule starts. A request not sent within ``max_lag`` seconds of
    its due time is dropped and recorded as an error, so a run against a saturated server
    ends by itself soon after its schedule.

    Parameters
    ----------
    send
        Sends request ``i`` on a client (``base_url`` and ``headers`` already set).
    base_url, headers
        Of every worker's client.
    rate
        Requests per second (> 0).
    seconds
        Length of the schedule (> 0); at least one request is sent.
    workers
        Client threads (>= 1); more than ``rate x worst latency`` keeps the schedule.
    max_lag
        Longest delay past its due time at which a request is still sent (seconds).

    Returns
    -------
    list[Sample]
        One sample per scheduled request, in schedule order.

    """
    if not rate > 0 or not seconds > 0 or not max_lag > 0 or workers < 1:
        raise ValueError(
            f"rate, seconds and max_lag must be > 0 and workers >= 1, got rate={rate}, "
            f"seconds={seconds}, max_lag={max_lag}, workers={workers}"
        )
    total = max(1, round(rate * seconds))
    samples: list[Sample | None] = [None] * total
    counter = itertools.count()
    lock = threading.Lock()
    # clients first (each one loads TLS settings: slow), then the schedule's start
    clients = [
        httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S)
        for _ in range(workers)
    ]
    for client in clients:  # open every keep-alive connection before the clock starts
        with contextlib.suppress(httpx.HTTPError):
            client.get(CONNECT_PATH)
    start = time.perf_counter() + 0.05  # let every worker reach its first wait

    def worker(client: httpx.Client) -> None:
        while True:
            with lock:
                i = next(counter)
            if i >= total:
                return
            due = start + i / rate
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            elif now - due > max_lag:
                samples[i] = Sample(due - start, None, 0)
                continue
            try:
                status = send(client, i).status_code
            except httpx.HTTPError:
                status = 0
            samples[i] = Sample(due - start, time.perf_counter() - due, status)

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in clients]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for client in clients:
            client.close()
    return [s if s is not None else Sample(0.0, None, 0) for s in samples]


def settle(client: httpx.Client, *, timeout: float = SETTLE_TIMEOUT_S) -> float:
    """Wait until ``/v1/health`` answers twice in a row within ``SETTLE_LATENCY_S``.

    Returns the seconds waited; gives up silently after ``timeout`` (the next run then
    shows the leftover work as latency, which the report makes visible anyway).
    """
    began = time.perf_counter()
    fast = 0
    while fast < 2 and time.perf_counter() - began < timeout:
        sent = time.perf_counter()
        try:
            ok = client.get(CONNECT_PATH).status_code == 200
        except httpx.HTTPError:
            ok = False
        fast = fast + 1 if ok and time.perf_counter() - sent <= SETTLE_LATENCY_S else 0
        if fast == 0:
            time.sleep(0.1)
    return time.perf_counter() - began


# -- the server process ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _riskdesk_command() -> list[str]:
    """The ``riskdesk`` console script of this interpreter's environment (or ``-c`` of it)."""
    script = Path(sys.executable).parent / "riskdesk"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-c", "from riskdesk.cli.main import app; app()"]


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


@dataclass
class ServerProcess:
    """A ``riskdesk serve`` process on a fresh SQLite database in ``workdir``.

    Use as a context manager: entering migrates the database, creates the bench user,
    starts the server and waits for ``/v1/health``; leaving stops it (terminate, wait, kill
    after a timeout), also after an error.
    """

    workdir: Path
    port: int = 0
    user_created_by: str = ""
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """The server's combined stdout and stderr."""
        return self.workdir / "server.log"

    def __enter__(self) -> ServerProcess:
        (self.workdir / "db").mkdir(parents=True, exist_ok=True)
        (self.workdir / "keys").mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RISKDESK_")}
        env.update(
            RISKDESK_DATABASE_URL=f"sqlite:///{self.workdir / 'db' / 'bench.sqlite3'}",
            RISKDESK_SECRET_KEY_FILE=str(self.workdir / "keys" / "secret.key"),
            RISKDESK_USE_KEYRING="false",
            RISKDESK_RATE_LIMIT_USER="100000000",
            RISKDESK_RATE_LIMIT_IP="100000000",
            RISKDESK_RATE_LIMIT_LOGIN="100000",
        )
        self.env = env
        self._run_cli(["db", "upgrade"], what="migrating the bench database")
        self._create_user()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run_cli(self, args: list[str], *, what: str, stdin: str | None = None) -> None:
        done = subprocess.run(
            [*_riskdesk_command(), *args],
            env=self.env,
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            timeout=STARTUP_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            output = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise BenchServiceError(
                f"{what} failed (riskdesk {' '.join(args)} exited {done.returncode}): {output}"
            )

    def _create_user(self) -> None:
        """The bench user, through ``riskdesk user create`` as an operator would."""
        self._run_cli(
            ["user", "create", BENCH_USER, "--role", "trader", "--password-stdin"],
            what="creating the bench user",
            stdin=BENCH_PASSWORD + "\n",
        )
        self.user_created_by = "riskdesk user create"

    def _start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *_riskdesk_command(),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise BenchServiceError(
                        f"riskdesk serve exited with status {self.process.returncode} before "
                        f"answering /v1/health; its output:\n{_tail(self.log_path)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/v1/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise BenchServiceError(
                        f"riskdesk serve did not answer {self.base_url}/v1/health within "
                        f"{STARTUP_TIMEOUT_S:g} s; its output:\n{_tail(self.log_path)}"
                    )
                time.sleep(0.1)

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the server, wait ``timeout`` seconds, then kill it."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


# -- setup over HTTP and the cases -----------------------------------------------------------


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code // 100 != 2:
        raise BenchServiceError(
            f"{what} failed: {response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response.json()


@dataclass(frozen=True, slots=True)
class Case:
    """One measured case: a name, what it measures, and how to send request ``i``."""

    name: str
    kind: str
    send: Send


def _login(client: httpx.Client) -> dict[str, str]:
    body = _check(
        client.post("/v1/auth/login", json={"username": BENCH_USER, "password": BENCH_PASSWORD}),
        "logging in",
    )
    return {"Authorization": f"Bearer {body['access_token']}"}


def _pick_condor(chain: dict[str, Any]) -> tuple[str, list[tuple[str, str, int]]]:
    """An iron condor around spot: expiry about 30-60 days out, wings at -10/-5/+5/+10%.

    Returns the expiry and ``(strike, right, quantity)`` of the four legs: long put, short
    put, short call, long call, on strikes quoted on both sides.
    """
    as_of = datetime.fromisoformat(chain["as_of"]).date()
    spot = Decimal(chain["spot"])
    rows = [r for r in chain["rows"] if r["bid"] is not None and r["ask"] is not None]
    expiries = sorted({date.fromisoformat(r["expiry"]) for r in rows})
    if not expiries:
        raise BenchServiceError(f"the {SYMBOL} chain of the bench snapshot has no two-sided quote")
    later = [e for e in expiries if (e - as_of).days >= 30]
    expiry = later[0] if later else expiries[-1]
    strikes: dict[str, list[Decimal]] = {"C": [], "P": []}
    for row in rows:
        if date.fromisoformat(row["expiry"]) == expiry:
            strikes[row["right"]].append(Decimal(row["strike"]))

    def nearest(right: str, target: Decimal, taken: set[Decimal]) -> Decimal:
        free = [k for k in strikes[right] if k not in taken]
        if not free:
            raise BenchServiceError(f"too few {right} strikes on {expiry} for an iron condor")
        return min(free, key=lambda k: abs(k - target))

    long_put = nearest("P", spot * Decimal("0.90"), set())
    short_put = nearest("P", spot * Decimal("0.95"), {long_put})
    short_call = nearest("C", spot * Decimal("1.05"), set())
    long_call = nearest("C", spot * Decimal("1.10"), {short_call})
    if not long_put < short_put < short_call < long_call:
        raise BenchServiceError(
            f"no iron condor around spot {spot} on {expiry}: strikes {long_put}, {short_put}, "
            f"{short_call}, {long_call} are not increasing"
        )
    legs = [(long_put, "P", 1), (short_put, "P", -1), (short_call, "C", -1), (long_call, "C", 1)]
    return expiry.isoformat(), [(str(k), right, qty) for k, right, qty in legs]


def _setup_cases(client: httpx.Client) -> list[Case]:
    """Snapshot, draft and four legs over HTTP; the cases that measure them."""
    snapshot = _check(client.post("/v1/snapshots", json={"symbols": [SYMBOL]}), "a snapshot")
    snapshot_id = snapshot["snapshot_id"]
    chain_path = f"/v1/market/chains/{SYMBOL}"
    chain_params = {"snapshot": snapshot_id}
    chain = _check(client.get(chain_path, params=chain_params), "reading the chain")
    expiry, legs = _pick_condor(chain)
    draft = _check(
        client.post("/v1/trades/drafts", json={"name": f"bench {SYMBOL} iron condor"}),
        "creating the draft",
    )
    draft_id = draft["id"]
    for strike, right, quantity in legs:
        leg = {
            "instrument": {
                "type": "option",
                "underlying": SYMBOL,
                "expiry": expiry,
                "strike": strike,
                "right": right,
                "style": chain["rows"][0]["style"],
            },
            "quantity": str(quantity),
            "snapshot": snapshot_id,
        }
        _check(client.post(f"/v1/trades/drafts/{draft_id}/legs", json=leg), "adding a leg")
    body: dict[str, Any] = {"trade": {"draft_id": draft_id}, "snapshot_id": snapshot_id}
    first = _check(client.post("/v1/evaluate", json=body), "evaluating the iron condor")
    if first.get("errors"):
        raise BenchServiceError(f"the bench iron condor does not evaluate: {first['errors']}")
    fresh_ids = itertools.count(1)  # never repeats, across warm-up and every repeat

    def health(c: httpx.Client, i: int) -> httpx.Response:
        return c.get("/v1/health")

    def chain_read(c: httpx.Client, i: int) -> httpx.Response:
        return c.get(chain_path, params=chain_params)

    def cached(c: httpx.Client, i: int) -> httpx.Response:
        return c.post("/v1/evaluate", json=body)

    def fresh(c: httpx.Client, i: int) -> httpx.Response:
        # same size and work as the default grid, a new grid hash: never a cache hit
        spot_max = 3.0 + next(fresh_ids) * 1e-6
        return c.post("/v1/evaluate", json={**body, "scenario_grid": {"spot_max": spot_max}})

    _expect_cache(cached(client, 0), "hit", "evaluate (cached)")
    _expect_cache(fresh(client, 0), "miss", "evaluate (fresh)")
    rows = len(chain["rows"])
    condor = "/".join(f"{k}{r}" for k, r, _ in legs)
    return [
        Case("health", "baseline: GET /v1/health, the floor of the HTTP stack", health),
        Case(
            "chain read", f"GET {chain_path}?snapshot=ID: {rows} quotes, all expiries", chain_read
        ),
        Case(
            "evaluate (cached)",
            f"POST /v1/evaluate, {SYMBOL} {expiry} {condor} condor, same body: cache hit",
            cached,
        ),
        Case(
            "evaluate (fresh)",
            "POST /v1/evaluate, a new grid each request (41x21 + 41x10): computed and stored",
            fresh,
        ),
    ]


def _expect_cache(response: httpx.Response, expected: str, name: str) -> None:
    _check(response, name)
    got = response.headers.get("X-Cache")
    if got != expected:
        raise BenchServiceError(
            f"{name} should be a cache {expected}, but the service answered X-Cache: {got}"
        )


# -- the benchmark ---------------------------------------------------------------------------


def run_service_bench(
    *, rate: float, seconds: float, repeats: int, workers: int, port: int = 0
) -> dict[str, Any]:
    """Start a server, set up over HTTP, measure every case; the JSON-ready report."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    workdir = Path(tempfile.mkdtemp(prefix="riskdesk-bench-service-"))
    try:
        with ServerProcess(workdir, port=port) as server:
            with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S) as client:
                headers = _login(client)
                client.headers.update(headers)
                cases = _setup_cases(client)
                for case in cases:  # warm-up: JIT, caches, connections; not measured
                    for i in range(WARMUP_REQUESTS):
                        _check(case.send(client, -1 - i), f"warming up {case.name}")
                runs: dict[str, list[CaseStats]] = {case.name: [] for case in cases}
                client_cpu: dict[str, list[float]] = {case.name: [] for case in cases}
                for _ in range(repeats):  # round-robin: machine noise spreads over every case
                    for case in cases:
                        settle(client)
                        cpu, wall = time.process_time(), time.perf_counter()
                        samples = run_open_loop(
                            case.send,
                            base_url=server.base_url,
                            headers=headers,
                            rate=rate,
                            seconds=seconds,
                            workers=workers,
                        )
                        cpu = (time.process_time() - cpu) / (time.perf_counter() - wall)
                        runs[case.name].append(summarize(samples, scheduled_s=len(samples) / rate))
                        client_cpu[case.name].append(cpu)
            user_created_by = server.user_created_by
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results = [
        {**_case_row(case, runs[case.name], rate), "client_cpu": _median(client_cpu[case.name])}
        for case in cases
    ]
    return {
        "benchmark": "service",
        "backend": "sqlite",
        "rate": rate,
        "seconds": seconds,
        "repeats": repeats,
        "workers": workers,
        "max_lag_s": MAX_LAG_S,
        "user_created_by": user_created_by,
        "target": {"case_kind": "evaluate", "p99_s": TARGET_P99_S, "rate": TARGET_RATE},
        "results": results,
    }


def _case_row(case: Case, stats: list[CaseStats], rate: float) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": case.name,
        "kind": case.kind,
        "requests": sum(s.requests for s in stats),
        "errors": sum(s.errors for s in stats),
        "dropped": sum(s.dropped for s in stats),
        "throughput_rps": _median([s.throughput for s in stats]),
        "p50_s": _median([s.p50 for s in stats]),
        "p90_s": _median([s.p90 for s in stats]),
        "p99_s": _median([s.p99 for s in stats]),
        "max_s": _median([s.max for s in stats]),
        "runs": [
            {
                "requests": s.requests,
                "errors": s.errors,
                "dropped": s.dropped,
                "throughput_rps": s.throughput,
                "p50_s": s.p50,
                "p90_s": s.p90,
                "p99_s": s.p99,
                "max_s": s.max,
            }
            for s in stats
        ],
        "target_p99_s": None,
        "meets_target": None,
    }
    if case.name.startswith("evaluate"):
        row["target_p99_s"] = TARGET_P99_S
        # met only when measured at (at least) the target rate, with no errors
        if rate >= TARGET_RATE:
            row["meets_target"] = row["errors"] == 0 and row["p99_s"] <= TARGET_P99_S
    return row


def main(
    *, rate: float, seconds: float, repeats: int, workers: int, as_json: bool, port: int = 0
) -> None:
    """Run the service benchmark and print a rich table (or JSON with ``as_json``)."""
    report = run_service_bench(
        rate=rate, seconds=seconds, repeats=repeats, workers=workers, port=port
    )
    if as_json:
        print(json.dumps(_json_safe(report), indent=2, allow_nan=False))
        return
    _print_table(report)


def _json_safe(value: Any) -> Any:
    """``value`` with NaN (a case without a 2xx response) as null: strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _print_table(report: dict[str, Any]) -> None:
    table = Table(
        title=(
            f"riskdesk service benchmark: open loop at {report['rate']:g} req/s for "
            f"{report['seconds']:g} s, median of {report['repeats']} (SQLite, loopback; "
            "latencies in ms)"
        ),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    columns = ("case", "sent", "errors", "req/s", "p50", "p90", "p99", "max")
    for column in (*columns, "target"):
        table.add_column(column, justify="left" if column == "case" else "right", no_wrap=True)
    for row in report["results"]:
        target = ""
        if row["target_p99_s"] is not None:
            verdict = row["meets_target"]
            target = "n/a" if verdict is None else ("met" if verdict else "NOT met")
        table.add_row(
            row["name"],
            str(row["requests"]),
            str(row["errors"]),
            f"{row['throughput_rps']:.1f}",
            *(_ms(row[key]) for key in ("p50_s", "p90_s", "p99_s", "max_s")),
            target,
        )
    console = Console()
    console.print(table)
    for row in report["results"]:
        dropped = f"; {row['dropped']} dropped" if row["dropped"] else ""
        console.print(
            f"[dim]{row['name']}: {row['kind']}{dropped}; client CPU {row['client_cpu']:.0%}.[/dim]"
        )
    console.print(
        f"[dim]Target (issue 9): evaluate p99 <= {TARGET_P99_S * 1e3:g} ms at {TARGET_RATE:g} "
        "req/s on SQLite, with no errors (n/a: measured at a lower rate). 'fresh' is the "
        "honest figure (every request computes); 'cached' is a stored-result hit.[/dim]"
    )
    console.print(
        "[dim]Latency is measured from each request's scheduled send time (open loop), so "
        "queueing in the client or the server counts. Percentiles are over 2xx responses; "
        "errors are non-2xx, no response, or dropped (not sent within "
        f"{report['max_lag_s']:g} s of its due time: the server is saturated). Compare the "
        f"cases with the health baseline of the same run. {report['workers']} client "
        "threads, one keep-alive connection each; client CPU is what the client process "
        "used (of one core): near 100% the client, not the server, is the bottleneck. "
        f"Bench user created by {report['user_created_by']}.[/dim]"
    )


def _ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    return f"{seconds * 1e3:.1f}" if seconds < 0.1 else f"{seconds * 1e3:.0f}"
