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
