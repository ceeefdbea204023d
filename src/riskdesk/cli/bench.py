"""``riskdesk bench``: benchmarks that print medians beside a same-run baseline."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("pricing")
def pricing(
    n: int = typer.Option(1_000_000, help="Number of random options."),
    repeats: int = typer.Option(7, help="Timed runs per measurement (median reported)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Pricing kernels: ns/option on random options vs a plain-numpy reference."""
    import riskdesk.bench._pricing as _pricing

    _pricing.main(n=n, repeats=repeats, as_json=json_out)


@app.command("analytics")
def analytics(
    repeats: int = typer.Option(7, help="Timed runs per measurement (median reported)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Workbench: 4-leg trade on a 41x21x10 grid; 10,000-option book under 1,000 scenarios."""
    import riskdesk.bench._analytics as _analytics

    _analytics.main(repeats=repeats, as_json=json_out)


@app.command("portfolio")
def portfolio(
    positions: int = typer.Option(
        10_000, "--positions", min=20, help="Positions in the synthetic book."
    ),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Timed runs (median reported)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Portfolio risk: exposures and Greeks, 500-day historical VaR, every stress scenario.

    Builds a synthetic book in memory (stocks, ETFs and options across about 200
    underlyings; American, European, spreads and singles, a few expired) and prints warm
    medians beside same-run baselines, with the issue's targets marked met or not met.
    Targets: exposures and Greeks <= 100 ms, VaR <= 2 s, stress <= 1 s (10,000 positions);
    the daily batch (10 portfolios of a tenth of the positions each, on a temporary SQLite
    file, a process pool) <= 30 s; it is skipped under 1,000 positions.
    """
    import riskdesk.bench._portfolio as _portfolio

    _portfolio.main(positions=positions, repeats=repeats, as_json=json_out)


@app.command("service")
def service(
    rate: float = typer.Option(100.0, "--rate", min=0.1, help="Requests per second (open loop)."),
    seconds: float = typer.Option(10.0, "--seconds", min=0.1, help="Length of each run."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Runs per case (median reported)."),
    workers: int = typer.Option(
        32, "--workers", min=1, max=512, help="Client threads, one keep-alive connection each."
    ),
    port: int = typer.Option(
        0, "--port", min=0, max=65535, help="Server port on 127.0.0.1 (0: a free one)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """HTTP service on loopback: p50/p99 and req/s of chain reads and a 4-leg evaluate.

    Starts ``riskdesk serve`` on a fresh SQLite file in a temporary directory, sets up a
    snapshot and an iron condor over HTTP, then drives each case open-loop at ``--rate``
    beside a ``GET /v1/health`` baseline. Target: evaluate p99 <= 50 ms at 100 req/s.
    """
    import riskdesk.bench._service as _service
    from riskdesk.cli._common import fail

    try:
        _service.main(
            rate=rate,
            seconds=seconds,
            repeats=repeats,
            workers=workers,
            as_json=json_out,
            port=port,
        )
    except _service.BenchServiceError as error:
        fail(str(error))


@app.command("trading")
def trading(
    orders: int = typer.Option(200, "--orders", min=1, help="Orders per timed run."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Timed runs (median reported)."),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="Database for the store case instead of a temporary SQLite file.",
    ),
    postgres_url: str | None = typer.Option(
        None,
        "--postgres-url",
        envvar="RISKDESK_BENCH_POSTGRES_URL",
        help="PostgreSQL database for the postgres case (migrated; adds bench-* accounts).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Paper trading: orders per second through ten risk gates, the fill model and the ledger.

    Submits marketable one-contract SPY option orders on a fresh paper account (synthetic
    market, pinned clock) on a temporary SQLite file and, when a URL is given, on PostgreSQL,
    beside a same-run baseline of the pure engines without the store. Every run must
    reconcile.
    """
    import riskdesk.bench._trading as _trading
    from riskdesk.cli._common import fail

    try:
        _trading.main(
            orders=orders,
            repeats=repeats,
            database_url=database_url,
            postgres_url=postgres_url,
            as_json=json_out,
        )
    except _trading.BenchTradingError as error:
        fail(str(error))


@app.command("stream")
def stream(
    rate: float = typer.Option(5000.0, "--rate", min=0.1, help="Greeks ticks per second sent."),
    duration: float = typer.Option(60.0, "--duration", min=0.1, help="Seconds per stream run."),
    postgres_url: str | None = typer.Option(
        None,
        "--postgres-url",
        envvar="RISKDESK_BENCH_POSTGRES_URL",
        help="PostgreSQL database for the postgres cases (migrated; adds BENCH* accounts).",
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="Database for the sqlite stream case instead of a temporary SQLite file.",
    ),
    bulk_rows: int = typer.Option(500_000, "--bulk-rows", min=1, help="Rows per bulk case."),
    cases: list[str] | None = typer.Option(
        None, "--case", help="Run only this case (repeatable): sqlite, postgres, bulk-*."
    ),
    profile_seconds: float = typer.Option(
        10.0,
        "--profile-seconds",
        min=0.0,
        help="Profile run length when short of --rate (0: none).",
    ),
    broker_process: bool = typer.Option(
        True,
        "--broker-process/--broker-thread",
        help="Run the fake broker in its own process (default) or in a thread of this one.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Streaming Greeks: fake DXLink broker -> Ingestor -> journal -> database, and bulk ingest.

    Streams --rate Greeks ticks/s for --duration s into a temporary SQLite file and, with
    --postgres-url, PostgreSQL; reports sent, received, journaled, persisted (rows counted),
    tick-to-durable percentiles, the first row's time and the journal depth peak against
    issue 12's targets (100% persisted, p95 <= 100 ms, p99 <= 250 ms, first row <= 2 s).
    Bulk cases push --bulk-rows records through journal + BatchWriter (target on
    PostgreSQL: >= 50,000 rows/s) beside a plain COPY floor. A run short of --rate is
    profiled (cProfile in every thread).
    """
    import riskdesk.bench._stream as _stream
    from riskdesk.cli._common import fail

    try:
        _stream.main(
            rate=rate,
            duration=duration,
            database_url=database_url,
            postgres_url=postgres_url,
            bulk_rows=bulk_rows,
            cases=cases or None,
            profile_seconds=profile_seconds,
            broker_process=broker_process,
            as_json=json_out,
        )
    except _stream.BenchStreamError as error:
        fail(str(error))


@app.command("web")
def web(
    repeats: int = typer.Option(5, "--repeats", min=1, help="Runs per case (median reported)."),
    chromium: str | None = typer.Option(
        None,
        "--chromium",
        help="Chromium executable (default: RISKDESK_TEST_CHROMIUM or chromium on the PATH).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Web workspace in headless Chromium: first render of each page and compare recomputes.

    Serves the app on a temporary SQLite file (127.0.0.1, a free port), seeds a condor and a
    straddle, a sample book and a paper account over /v1, and measures with the browser's
    clock: navigation start -> each page drawn with data (cold context and warm reload), and
    a leg edit / exclude / include -> the compare summary updated. Targets (issue 13): first
    render <= 1 s, recompute <= 200 ms; beside a same-run baseline of the /v1 calls alone.
    """
    import riskdesk.bench._web as _web
    from riskdesk.cli._common import fail

    try:
        _web.main(repeats=repeats, chromium=chromium, as_json=json_out)
    except _web.BenchWebError as error:
        fail(str(error))


@app.command("market")
def market(
    rows: int = typer.Option(1_500_000, "--rows", min=100, help="Option rows in the chain file."),
    postgres_url: str | None = typer.Option(
        None, "--postgres-url", help="Also import into this (migrated or empty) PostgreSQL."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Market import at full-market scale: rows/s, peak RSS and load time vs pandas read_csv.

    Targets: 1.5M rows in <= 30 s and <= 2 GB peak on each backend, loaded back in <= 5 s.
    """
    import riskdesk.bench._market as _market

    _market.main(rows=rows, postgres_url=postgres_url, as_json=json_out)
