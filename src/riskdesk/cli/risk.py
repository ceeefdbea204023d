"""``riskdesk risk``: a portfolio's exposures and Greeks on a date.

``riskdesk risk exposures PORTFOLIO [--date D] [--benchmark SPY] [--beta SYM=B ...] [--json]``
prints market value, long / short / gross / net, delta-adjusted and beta-weighted exposure;
``riskdesk risk greeks PORTFOLIO [--date D] [--by underlying|expiry|dte|tag|strategy]
[--json]`` prints the Greeks bucketed one way. Positions that are expired or lack a spot or a
vol are listed apart, never summed. Marks follow :mod:`riskdesk.risk.reports` (the session
close on ``--date``, snapshot IVs or 30-day realised vols).

``riskdesk risk factors PORTFOLIO [--window 150]`` fits and stores the factor model (betas,
factor exposures, EWMA covariance, risk decomposition); ``riskdesk risk correlation PORTFOLIO
[--window 90]`` stores the position correlations and prints the diversification measures;
``riskdesk risk stress PORTFOLIO [--scenario KEY ...] [--no-propagation]`` runs the packaged
stress scenarios with full repricing. Every command takes ``--date`` and ``--json``.

``riskdesk risk regime [--date D] [--no-record]`` prints seed 001's market regime (VIX regime
and sizing factor, 7- and 30-session SPY/QQQ/IWM correlations, volume ratios) and records each
emergency threshold crossed as a ``risk_events`` row (once per type and date); ``riskdesk risk
squeeze PORTFOLIO [--date D]`` tiers the book's short equity positions for squeeze risk.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskdesk.cli._common import (
    DatabaseUrlOption,
    JsonOption,
    fail,
    open_db,
    parse_number,
    parse_rate,
    print_json,
    session_day,
    user_errors,
)
from riskdesk.risk.exposures import ExcludedPosition, Exposures, GreeksReport, Grouping
from riskdesk.risk.factors import REGRESSION_WINDOW
from riskdesk.risk.market_risk import MarketRegime, RegimeReport, SqueezeReport
from riskdesk.risk.reports import (
    BACKTEST_DAYS,
    CORRELATION_WINDOW,
    DEFAULT_RATE,
    VAR_WINDOW,
    CorrelationReport,
    FactorReport,
    RiskReports,
    StressOutcome,
)

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Portfolio risk of a book on a date: exposures, Greeks, factors, correlation, stress; "
        "the market regime and short-squeeze tiers."
    ),
)
console = Console()

_BETA_LIMIT = 10.0

DateOption = typer.Option(
    None,
    "--date",
    help="Valuation date YYYY-MM-DD (an NYSE session; default: the latest session, UTC).",
)
RateOption = typer.Option(
    str(DEFAULT_RATE), "--rate", help="Risk-free rate, continuously compounded (0.04 is 4%)."
)


def _day(text: str | None) -> date:
    return session_day(text)


def _betas(items: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items or []:
        symbol, sep, value = item.partition("=")
        name = symbol.strip().upper()
        if not sep or not name:
            fail(f"--beta {item!r} must look like SYMBOL=BETA (e.g. AAPL=1.2)")
        out[name] = parse_number(value, f"--beta {name}", low=-_BETA_LIMIT, high=_BETA_LIMIT)
    return out


def _excluded_table(excluded: tuple[ExcludedPosition, ...]) -> Table:
    table = Table(title="not priced (left out of every sum)")
    for col in ("symbol", "status", "reason"):
        table.add_column(col)
    for e in excluded:
        table.add_row(escape(e.symbol), e.status.value, escape(e.reason))
    return table


@app.command("exposures")
def exposures_command(
    portfolio: str = typer.Argument(..., help="Portfolio name or id."),
    day: str | None = DateOption,
    benchmark: str = typer.Option("SPY", "--benchmark", help="Benchmark of the beta weighting."),
    betas: list[str] | None = typer.Option(
        None, "--beta", help="Beta of an underlying to the benchmark, SYMBOL=BETA (repeat)."
    ),
    rate: str = RateOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Market value, long/short/gross/net, delta-adjusted and beta-weighted exposure."""
    on = _day(day)
    given = _betas(betas)
    r = parse_rate(rate, "--rate")
    with open_db(database_url) as db, user_errors():
        report = RiskReports(db).exposures(portfolio, on, benchmark, betas=given, rate=r)
    if json_out:
        print_json(report.to_dict())
        return
    _render_exposures(portfolio, report)


def _render_exposures(portfolio: str, report: Exposures) -> None:
    data = report.to_dict()
    console.print(
        f"[bold]{escape(portfolio)}[/] on {data['date']}: {report.positions} positions priced "
        f"({report.long_count} long, {report.short_count} short)",
        soft_wrap=True,
    )
    table = Table()
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("market value", data["market_value"]),
        ("long", data["long"]),
        ("short", data["short"]),
        ("gross", data["gross"]),
        ("net", data["net"]),
        ("notional", data["notional"]),
        ("delta-adjusted long", data["delta_adjusted"]["long"]),
        ("delta-adjusted short", data["delta_adjusted"]["short"]),
        ("delta-adjusted gross", data["delta_adjusted"]["gross"]),
        ("delta-adjusted net", data["delta_adjusted"]["net"]),
    ]
    weighted = data["beta_weighted"]
    rows.append((f"beta-weighted delta ({report.benchmark}, $)", weighted["dollars"]))
    shares = weighted["benchmark_shares"]
    rows.append(
        (f"beta-weighted delta ({report.benchmark} shares)", shares if shares else "no price")
    )
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if report.missing_betas:
        console.print(
            f"[yellow]no beta for {', '.join(report.missing_betas)}: left out of the "
            f"beta-weighted delta (give --beta SYMBOL=BETA)[/]",
            soft_wrap=True,
        )
    if report.excluded:
        console.print(_excluded_table(report.excluded))


@app.command("greeks")
def greeks_command(
    portfolio: str = typer.Argument(..., help="Portfolio name or id."),
    day: str | None = DateOption,
    by: Grouping = typer.Option(Grouping.UNDERLYING, "--by", help="How to bucket the Greeks."),
    rate: str = RateOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Delta, gamma, vega, theta and dollar delta/gamma, totalled and bucketed."""
    on = _day(day)
    r = parse_rate(rate, "--rate")
    with open_db(database_url) as db, user_errors():
        report = RiskReports(db).greeks(portfolio, on, by=[by], rate=r)
    if json_out:
        print_json(report.to_dict())
        return
    _render_greeks(portfolio, report, by)


def _render_greeks(portfolio: str, report: GreeksReport, by: Grouping) -> None:
    data = report.to_dict()
    console.print(
        f"[bold]{escape(portfolio)}[/] on {data['date']}: Greeks by {by.value} "
        "(delta in shares, vega per vol point, theta per day, dollar gamma per 1% move)",
        soft_wrap=True,
    )
    table = Table()
    columns = ("delta", "gamma", "vega", "theta", "dollar_delta", "dollar_gamma", "count")
    table.add_column(by.value)
    for col in columns:
        table.add_column(col.replace("_", " "), justify="right")
    for bucket in data["by"][by.value]:
        label = bucket["key"] if "kind" not in bucket else f"{bucket['key']} ({bucket['kind']})"
        table.add_row(escape(label), *(str(bucket[c]) for c in columns))
    totals = data["totals"]
    table.add_row("[bold]total[/]", *(str(totals[c]) for c in columns))
    console.print(table)
    if report.excluded:
        console.print(_excluded_table(report.excluded))


@app.command("factors")
def factors_command(
    portfolio: str = typer.Argument(..., help="Portfolio name or id."),
    day: str | None = DateOption,
    window: int = typer.Option(
        REGRESSION_WINDOW, "--window", help="Regression window in sessions (at least 60)."
    ),
    rate: str = RateOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Factor betas, dollar factor exposures and risk decomposition (stored for the date)."""
    on = _day(day)
    r = parse_rate(rate, "--rate")
    with open_db(database_url) as db, user_errors():
        report = RiskReports(db).factors(portfolio, on, window, rate=r)
    if json_out:
        print_json(report.to_dict())
        return
    _render_factors(report)


def _render_factors(report: FactorReport) -> None:
    data = report.to_dict()
    risk = data["risk"]
    console.print(
        f"[bold]{escape(report.name)}[/] on {data['date']}: factor model over {report.window} "
        f"sessions; annual volatility {risk['annual_volatility']} "
        f"({risk['factor_percent']}% factor, {risk['specific_percent']}% specific)",
        soft_wrap=True,
    )
    table = Table(title="factor exposures (delta-adjusted dollars)")
    for col in ("factor", "dollars", "beta", "ridge dollars", "risk contribution", "% of variance"):
        table.add_column(col, justify="left" if col == "factor" else "right")
    for exposure, contribution in zip(data["exposures"], risk["contributions"], strict=True):
        table.add_row(
            escape(exposure["factor"]),
            str(exposure["dollars"]),
            str(exposure["beta"]),
            str(exposure["ridge_dollars"]),
            str(contribution["annual_contribution"]),
            str(contribution["percent"]),
        )
    console.print(table)
    betas = Table(title="univariate betas by underlying (the seed's)")
    betas.add_column("underlying")
    for factor in data["factors"]:
        betas.add_column(escape(factor), justify="right")
    rows: dict[str, list[str]] = {}
    for item in data["betas"]:
        mark = "*" if item["flags"] else ""
        rows.setdefault(item["underlying"], []).append(f"{item['beta']}{mark}")
    for underlying, values in rows.items():
        betas.add_row(escape(underlying), *values)
    console.print(betas)
    console.print("* flagged (limited history, capped or no variance: see --json)")
    if risk["unmodelled"]:
        console.print(
            f"[yellow]left out of the risk decomposition (too little history): "
            f"{', '.join(risk['unmodelled'])}[/]",
            soft_wrap=True,
        )
    if report.excluded:
        console.print(_excluded_table(report.excluded))


@app.command("correlation")
def correlation_command(
    portfolio: str = typer.Argument(..., help="Portfolio name or id."),
    day: str | None = DateOption,
    window: int = typer.Option(
        CORRELATION_WINDOW, "--window", help="Correlation window in sessions (at least 20)."
    ),
    rate: str = RateOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Position correlation matrix (stored for the date) and diversification measures."""
    on = _day(day)
    r = parse_rate(rate, "--rate")
    with open_db(database_url) as db, user_errors():
        report = RiskReports(db).correlation(portfolio, on, window, rate=r)
    if json_out:
        print_json(report.to_dict())
        return
    _render_correlation(report)


def _render_correlation(report: CorrelationReport) -> None:
    data = report.to_dict()
    console.print(
        f"[bold]{escape(report.name)}[/] on {data['date']}: correlations over {report.window} "
        f"sessions; diversification score {data['diversification_score']}, effective positions "
        f"{data['effective_positions']} (correlation-adjusted "
        f"{data['correlation_adjusted_effective_positions']}), average correlation "
        f"{data['average_correlation']}, concentration {data['concentration_score']}",
        soft_wrap=True,
    )
    table = Table()
    table.add_column("")
    for name in data["positions"]:
        table.add_column(escape(name), justify="right")
    for name, row in zip(data["positions"], data["matrix"], strict=True):
        table.add_row(escape(name), *("-" if v is None else f"{v:.2f}" for v in row))
    console.print(table)
    for cluster in data["clusters"]:
        console.print(
            f"cluster {', '.join(cluster['positions'])}: average correlation "
            f"{cluster['average_correlation']}, {cluster['gross_exposure']} gross",
            soft_wrap=True,
        )
    if report.excluded:
        console.print(_excluded_table(report.excluded))


@app.command("stress")
def stress_command(
    portfolio: str = typer.Argument(..., help="Portfolio name or id."),
    day: str | None = DateOption,
    scenarios: list[str] | None = typer.Option(
        None,
        "--scenario",
        help="A packaged scenario key, e.g. market_crash_35 (repeat; default all).",
    ),
    scenario_file: Path | None = typer.Option(
        None,
        "--scenario-file",
        help='Your own scenarios: a JSON list (or {"scenarios": [...]}) in the packaged '
        "file's format, run after the packaged ones.",
    ),
    no_packaged: bool = typer.Option(
        False, "--no-packaged", help="Run only --scenario-file's scenarios."
    ),
    no_propagation: bool = typer.Option(
        False, "--no-propagation", help="Apply the direct shocks only (no correlated phase)."
    ),
    window: int = typer.Option(
        REGRESSION_WINDOW, "--window", help="Window of the betas and factor correlation (>= 60)."
    ),
    rate: str = RateOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Stress scenarios with correlated propagation and full option repricing."""
    on = _day(day)
    r = parse_rate(rate, "--rate")
    custom = _scenario_file(scenario_file) if scenario_file is not None else []
    if no_packaged and scenarios:
        fail("--no-packaged runs only your file's scenarios: drop --scenario")
    keys: list[str] | None = [] if no_packaged else (scenarios or None)
    with open_db(database_url) as db, user_errors():
        outcome = RiskReports(db).stress(
            portfolio, on, keys, not no_propagation, window=window, rate=r, custom=custom
        )
    if json_out:
        print_json(outcome.to_dict())
        return
    _render_stress(outcome)


def _scenario_file(path: Path) -> list[Any]:
    """The scenario definitions of a JSON file: a list, or an object with ``scenarios``."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path} is not a JSON file: {exc}")
    if isinstance(doc, dict) and isinstance(doc.get("scenarios"), list):
        doc = doc["scenarios"]
    if not isinstance(doc, list) or not doc:
        fail(f'{path} must hold a non-empty list of scenarios (or {{"scenarios": [...]}})')
    return doc


def _render_stress(outcome: StressOutcome) -> None:
    data = outcome.to_dict()
    console.print(
        f"[bold]{escape(outcome.name)}[/] on {data['date']}: gross {data['gross_value']}, net "
        f"{data['net_value']}; propagation {'on' if data['propagated'] else 'off'}",
        soft_wrap=True,
    )
    table = Table()
    for col in ("scenario", "P&L", "direct", "correlated", "impact", "severity"):
        table.add_column(col, justify="left" if col in ("scenario", "severity") else "right")
    for item in data["scenarios"]:
        impact = item["impact"]
        table.add_row(
            escape(item["key"]),
            str(item["pnl"]),
            str(item["direct_pnl"]),
            str(item["correlated_pnl"]),
            "-" if impact is None else f"{impact:.2%}",
            item["severity"],
        )
    console.print(table)
    if data["unmapped_underlyings"]:
        console.print(
            f"[yellow]no factor betas (too little history), not moved: "
            f"{', '.join(data['unmapped_underlyings'])}[/]",
            soft_wrap=True,
        )
    for excluded in data["excluded"]:
        console.print(f"[yellow]not priced: {escape(excluded['symbol'])} ({excluded['status']})[/]")


@app.command("var")
def var_command(
    portfolio: str = typer.Argument(..., help="Portfolio name or id."),
    day: str | None = DateOption,
    window: int = typer.Option(
        VAR_WINDOW, "--window", help="Sessions of history replayed by the historical VaR."
    ),
    seed: int = typer.Option(7, "--seed", help="Seed of the Monte Carlo paths."),
    rate: str = RateOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """VaR and ES at 95/99%, 1 and 10 days: historical (full repricing), delta-gamma, MC."""
    on = _day(day)
    r = parse_rate(rate, "--rate")
    with open_db(database_url) as db, user_errors():
        outcome = RiskReports(db).var(portfolio, on, window=window, rate=r, seed=seed)
    data = outcome.to_dict()
    if json_out:
        print_json(data)
        return
    console.print(
        f"[bold]{escape(outcome.name)}[/] on {data['date']}: value {data['current_value']}, "
        f"{data['window']} sessions",
        soft_wrap=True,
    )
    table = Table()
    for col in ("method", "level", "horizon", "VaR", "ES"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for method in ("historical", "historical_sqrt_scaled", "delta_gamma_normal", "monte_carlo"):
        for f in data[method] or []:
            table.add_row(
                method.replace("_", " "),
                f"{f['confidence']:.0%}",
                f"{f['horizon_days']}d",
                str(f["var"]),
                str(f["es"]),
            )
    console.print(table)
    for excluded in data["excluded"]:
        console.print(f"[yellow]not in VaR: {escape(excluded['symbol'])} ({excluded['reason']})[/]")


@app.command("backtest")
def backtest_command(
    portfolio: str = typer.Argument(..., help="Portfolio name or id."),
    day: str | None = DateOption,
    window: int = typer.Option(BACKTEST_DAYS, "--window", help="Sessions behind each VaR."),
    days: int = typer.Option(BACKTEST_DAYS, "--days", help="Sessions scored."),
    confidence: float = typer.Option(0.99, "--confidence", help="VaR level, e.g. 0.99."),
    rate: str = RateOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Kupiec and Christoffersen tests of the historical VaR on the book's own history."""
    on = _day(day)
    r = parse_rate(rate, "--rate")
    with open_db(database_url) as db, user_errors():
        outcome = RiskReports(db).backtest(
            portfolio, on, window=window, days=days, confidence=confidence, rate=r
        )
    data = outcome.to_dict()
    if json_out:
        print_json(data)
        return
    k, c = data["kupiec"], data["christoffersen"]
    console.print(
        f"[bold]{escape(outcome.name)}[/]: {data['exceptions']} exceptions in {data['days']} "
        f"days (expected {data['expected_exceptions']}) at {data['confidence']:.0%}\n"
        f"Kupiec LR {k['lr']:.3f}, p {k['p_value']:.4f} "
        f"({'rejected' if k['rejected_at_5pct'] else 'not rejected'} at 5%)\n"
        f"Christoffersen conditional coverage LR {c['lr_conditional_coverage']:.3f}, "
        f"p {c['p_conditional_coverage']:.4f} "
        f"({'rejected' if c['rejected_at_5pct'] else 'not rejected'} at 5%)",
        soft_wrap=True,
    )


@app.command("regime")
def regime_command(
    day: str | None = DateOption,
    record: bool = typer.Option(
        True, "--record/--no-record", help="Write crossed thresholds to risk_events (once a day)."
    ),
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """VIX regime and sizing factor, SPY/QQQ/IWM correlations, emergency thresholds."""
    on = _day(day)
    with open_db(database_url) as db, user_errors():
        report = MarketRegime(db).regime(on, record=record)
    if json_out:
        print_json(report.to_dict())
        return
    _render_regime(report)


def _render_regime(report: RegimeReport) -> None:
    data = report.to_dict()
    console.print(
        f"[bold]market regime[/] on {data['date']}: VIX {report.vix:.2f} -> "
        f"[bold]{report.regime}[/], position size x{report.position_size_multiplier:.2f}",
        soft_wrap=True,
    )
    table = Table(title="correlations of daily log returns")
    table.add_column("pair")
    windows = list(data["correlations"])
    for window in windows:
        table.add_column(window, justify="right")
    for pair in data["correlations"][windows[0]]:
        cells = [data["correlations"][w][pair] for w in windows]
        table.add_row(pair, *("n/a" if c is None else f"{c:.3f}" for c in cells))
    console.print(table)
    ratios = ", ".join(
        f"{s} {'n/a' if r is None else f'{r:.2f}x'}" for s, r in data["volume_ratios"].items()
    )
    console.print(f"volume vs 30-session mean: {ratios}", soft_wrap=True)
    if not report.breaches:
        console.print("no emergency threshold crossed")
        return
    events = Table(title="emergency thresholds crossed")
    for col in ("event", "severity", "value", "threshold", "action", "recorded"):
        events.add_column(col)
    for breach in report.breaches:
        state = (
            "new"
            if breach.event_type in report.recorded
            else "already"
            if breach.event_type in report.already_recorded
            else "not recorded"
        )
        events.add_row(
            breach.event_type,
            breach.severity,
            f"{breach.triggered_value:.4g}",
            f"{breach.threshold_value:g}",
            breach.action_taken,
            state,
        )
    console.print(events)
    for breach in report.breaches:
        console.print(f"[yellow]{escape(breach.description)}[/]", soft_wrap=True)


@app.command("squeeze")
def squeeze_command(
    portfolio: str = typer.Argument(..., help="Portfolio name or id."),
    day: str | None = DateOption,
    database_url: str | None = DatabaseUrlOption,
    json_out: bool = JsonOption,
) -> None:
    """Short-squeeze tiers of the book's short shares and short calls."""
    on = _day(day)
    with open_db(database_url) as db, user_errors():
        report = MarketRegime(db).squeeze(portfolio, on)
    if json_out:
        print_json(report.to_dict())
        return
    _render_squeeze(report)


def _render_squeeze(report: SqueezeReport) -> None:
    console.print(
        f"[bold]{escape(report.portfolio)}[/] on {report.on.isoformat()}: "
        f"{len(report.rows)} short equity positions, worst tier {report.worst or 'n/a'}",
        soft_wrap=True,
    )
    if not report.rows:
        return
    table = Table()
    for col in ("symbol", "type", "shares short", "borrow", "days to cover", "as of", "tier"):
        table.add_column(col, justify="right" if col in {"shares short"} else "left")
    for row in report.rows:
        metric = row.metric.to_dict() if row.metric is not None else {}
        table.add_row(
            escape(row.symbol),
            row.position_type,
            format(row.shares_short.normalize(), "f"),
            metric.get("cost_to_borrow_rate") or "",
            metric.get("days_to_cover") or "",
            metric.get("metric_date") or "",
            (row.tier or "") + ("" if row.status == "ok" else f" ({row.status})"),
        )
    console.print(table)
    for row in report.rows:
        if row.reason:
            console.print(f"[yellow]{escape(row.symbol)}: {escape(row.reason)}[/]", soft_wrap=True)
