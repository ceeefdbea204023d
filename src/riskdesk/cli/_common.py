"""Helpers shared by the CLI commands: opening the database, output, option parsing."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from riskdesk.config import get_settings
from riskdesk.domain.configs import ModelConfig, ScenarioGrid, SpotRangeKind, VolSource
from riskdesk.domain.hashing import canonical_json
from riskdesk.store import Database, StoreError, require_head

console = Console()
err_console = Console(stderr=True)

DatabaseUrlOption = typer.Option(
    None, "--database-url", help="Override RISKDESK_DATABASE_URL for this command."
)
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print an error in red and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def open_db(database_url: str | None, *, check_schema: bool = True) -> Iterator[Database]:
    """Open the configured database (checking it is migrated) and dispose of it after."""
    db = Database.from_settings(get_settings(), database_url=database_url)
    try:
        if check_schema:
            try:
                require_head(db.engine)
            except StoreError as exc:
                fail(f"{exc} (run `riskdesk db upgrade` first)")
        yield db
    finally:
        db.dispose()


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected user-facing errors into a clean message and exit code 1."""
    try:
        yield
    except (ValueError, LookupError, StoreError) as exc:
        # KeyError's str() is the repr of its argument: show the message itself
        fail(str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc))


def print_json(data: Any) -> None:
    """Print canonical JSON (sorted keys, Decimals as strings) on stdout."""
    sys.stdout.write(json.dumps(json.loads(canonical_json(data)), indent=2, sort_keys=True))
    sys.stdout.write("\n")


def parse_as_of(text: str | None) -> datetime:
    """ISO-8601 timestamp with a zone (``Z`` allowed) to aware UTC; None means now."""
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--as-of {text!r} is not an ISO-8601 timestamp (e.g. 2026-11-20T15:30:00Z)")
    if value.tzinfo is None:
        fail(f"--as-of {text!r} has no timezone; add Z or an offset such as -05:00")
    return value.astimezone(UTC)


def parse_symbol_map(items: list[str] | None, option: str) -> dict[str, float]:
    """``["SPY=0.013", ...]`` to ``{"SPY": 0.013}`` with clear errors."""
    out: dict[str, float] = {}
    for item in items or []:
        symbol, sep, value = item.partition("=")
        if not sep or not symbol.strip():
            fail(f"{option} {item!r} must look like SYMBOL=VALUE (e.g. SPY=0.013)")
        try:
            out[symbol.strip().upper()] = float(value)
        except ValueError:
            fail(f"{option} {item!r}: {value!r} is not a number")
    return out


def parse_vol_shifts(text: str) -> tuple[float, ...]:
    """``-10:10:1`` (start:stop:step, inclusive) or ``-5,0,5`` to a tuple of vol points."""
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            n = math.floor((stop - start) / step + 1e-9)  # never past the stop
            return tuple(round(start + i * step, 10) for i in range(n + 1))
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        fail(f"--vol-shifts {text!r} must be START:STOP:STEP (e.g. -10:10:1) or a list like -5,0,5")


def model_config_from_options(*, vol_source: str, engine: str) -> ModelConfig:
    """The model config selected by the common ``--vol-source`` and ``--engine`` options."""
    sources = {"raw": VolSource.RAW_CHAIN_IV, "surface": VolSource.FITTED_SURFACE}
    engines = {"bs2002": "bjerksund_stensland_2002", "high_accuracy": "high_accuracy"}
    if vol_source not in sources:
        fail(f"--vol-source must be one of {sorted(sources)}, got {vol_source!r}")
    if engine not in engines:
        fail(f"--engine must be one of {sorted(engines)}, got {engine!r}")
    return ModelConfig(vol_source=sources[vol_source], american_engine=engines[engine])  # type: ignore[arg-type]


def analysis_inputs(
    *,
    vol_source: str,
    engine: str,
    spot_range: float,
    sigmas: float | None,
    spot_steps: int,
    vol_shifts: str,
    dates: int,
) -> tuple[ModelConfig, ScenarioGrid]:
    """The model config and scenario grid of the options shared by evaluate and compare."""
    config = model_config_from_options(vol_source=vol_source, engine=engine)
    grid = grid_from_options(
        spot_range=spot_range,
        sigmas=sigmas,
        spot_steps=spot_steps,
        vol_shifts=vol_shifts,
        dates=dates,
    )
    return config, grid


def grid_from_options(
    *, spot_range: float, sigmas: float | None, spot_steps: int, vol_shifts: str, dates: int
) -> ScenarioGrid:
    """The scenario grid selected by the common grid options."""
    with user_errors():
        if sigmas is not None:
            return ScenarioGrid(
                spot_range_kind=SpotRangeKind.SIGMA,
                spot_min=-sigmas,
                spot_max=sigmas,
                spot_steps=spot_steps,
                vol_shifts=parse_vol_shifts(vol_shifts),
                n_dates=dates,
            )
        return ScenarioGrid(
            spot_min=-spot_range,
            spot_max=spot_range,
            spot_steps=spot_steps,
            vol_shifts=parse_vol_shifts(vol_shifts),
            n_dates=dates,
        )
    raise AssertionError("unreachable")  # pragma: no cover
