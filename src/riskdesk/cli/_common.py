"""Helpers shared by the CLI commands: opening the database, output, option parsing."""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from riskdesk.config import get_settings
from riskdesk.domain.configs import (
    AmericanEngine,
    AmericanModel,
    EuropeanModel,
    ModelConfig,
    PriceSource,
    PricingMode,
    ScenarioGrid,
    SpotRangeKind,
    ThetaConvention,
    TimeBasis,
    VolSource,
)
from riskdesk.domain.hashing import canonical_json
from riskdesk.domain.instruments import ExerciseStyle
from riskdesk.domain.numbers import check_amount, check_whole, parse_decimal, parse_float
from riskdesk.domain.timeutil import is_trading_day
from riskdesk.fileio import fsync_dir
from riskdesk.store import Database, StoreError, require_head
from riskdesk.store.errors import MigrationError

console = Console()
err_console = Console(stderr=True)

DatabaseUrlOption = typer.Option(
    None, "--database-url", help="Override RISKDESK_DATABASE_URL for this command."
)
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print an error in red on one line (never wrapped) and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def open_db(database_url: str | None, *, check_schema: bool = True) -> Iterator[Database]:
    """Open the configured database (checking it is migrated) and dispose of it after.

    A database that must already be migrated is never created here: a missing SQLite file
    is an error that says to run ``riskdesk db upgrade``, not a new empty file.
    """
    db = Database.from_settings(get_settings(), database_url=database_url, create=not check_schema)
    try:
        if check_schema:
            try:
                require_head(db.engine)
            except MigrationError as exc:
                fail(str(exc))
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


# -- numbers -----------------------------------------------------------------------------------

RATE_LIMIT = 1.0
"""Largest absolute rate, dividend yield or borrow rate accepted (1 = 100% a year)."""

MAX_VOL_SHIFT = 1000.0
"""Largest vol shift in points (a shift must also stay above -100 points)."""


def parse_amount(
    text: str, option: str, *, minimum: Decimal | None = None, nonzero: bool = False
) -> Decimal:
    """A quantity, price or fee the database stores exactly (see ``check_amount``).

    Plain ASCII decimal text only (no ``1_000``, no non-ASCII digits, no ``nan``), at most 8
    decimal places, absolute value below 1e12; ``minimum`` and ``nonzero`` add range rules.
    """
    try:
        value = check_amount(parse_decimal(text, field=option), field=option)
    except ValueError as exc:
        fail(str(exc))
    if nonzero and value == 0:
        fail(f"{option} must be non-zero, got {text.strip()}")
    if minimum is not None and value < minimum:
        fail(f"{option} must be >= {minimum}, got {text.strip()}")
    return value


def parse_whole(text: str, option: str, *, low: int, high: int) -> int:
    """A whole number in ``[low, high]`` written as plain ASCII digits."""
    try:
        value = check_whole(parse_decimal(text, field=option), field=option)
    except ValueError as exc:
        fail(str(exc))
    if not low <= value <= high:
        fail(f"{option} must be a whole number in [{low:,}, {high:,}], got {text.strip()}")
    return int(value)


def parse_number(
    text: str,
    option: str,
    *,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
) -> float:
    """A finite float from plain decimal text in ``[low, high]`` (and ``> above``)."""
    try:
        value = parse_float(text, field=option, low=low, high=high)
    except ValueError as exc:
        fail(str(exc))
    if above is not None and not value > above:
        fail(f"{option} must be > {above:g}, got {text.strip()}")
    return value


def parse_rate(text: str, option: str) -> float:
    """A continuously compounded rate as a decimal, ``|rate| <= 1`` (100% a year)."""
    value = parse_number(text, option)
    if abs(value) > RATE_LIMIT:
        fail(
            f"{option} {text.strip()} is out of range: rates are decimals with |rate| <= "
            f"{RATE_LIMIT:g} (0.05 is 5%)"
        )
    return value


def parse_symbol_map(items: list[str] | None, option: str) -> dict[str, float]:
    """``["SPY=0.013", ...]`` to ``{"SPY": 0.013}`` (rates, ``|value| <= 1``) with clear errors."""
    out: dict[str, float] = {}
    for item in items or []:
        symbol, sep, value = item.partition("=")
        if not sep or not symbol.strip():
            fail(f"{option} {item!r} must look like SYMBOL=VALUE (e.g. SPY=0.013)")
        out[symbol.strip().upper()] = parse_rate(value, f"{option} {symbol.strip().upper()}")
    return out


def parse_vol_shifts(text: str) -> tuple[float, ...]:
    """``-10:10:1`` (start:stop:step, inclusive) or ``-5,0,5`` to a tuple of vol points.

    Every shift must lie in ``(-100, MAX_VOL_SHIFT]`` vol points (a shift of -100 points or
    less makes every vol negative), and a range may hold at most ``ScenarioGrid.MAX_STEPS``
    points.
    """
    option = "--vol-shifts"
    usage = "must be START:STOP:STEP (e.g. -10:10:1) or a list like -5,0,5"
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            fail(f"{option} {text!r} {usage}")
        start, stop, step = (_shift(x, text) for x in parts)
        if not step > 0 or stop < start:
            fail(f"{option} {text!r}: STEP must be > 0 and STOP >= START ({usage})")
        count = math.floor((stop - start) / step + 1e-9) + 1  # never past the stop
        if count > ScenarioGrid.MAX_STEPS:
            fail(
                f"{option} {text!r} gives {count:,} shifts; at most {ScenarioGrid.MAX_STEPS:,} "
                "(use a larger STEP)"
            )
        return tuple(round(start + i * step, 10) for i in range(count))
    if not text.strip():
        fail(f"{option} {text!r} {usage}")
    return tuple(_shift(x, text) for x in text.split(","))


def _shift(part: str, text: str) -> float:
    value = parse_number(part, f"--vol-shifts {text!r}: value")
    if not -100.0 < value <= MAX_VOL_SHIFT:
        fail(
            f"--vol-shifts {text!r}: shift {part.strip()} is out of range; shifts are vol points "
            f"in (-100, {MAX_VOL_SHIFT:g}] (-100 or less would make every vol negative)"
        )
    return value


# -- model config -------------------------------------------------------------------------------


def _vol_source_choices() -> dict[str, VolSource]:
    """CLI names of the vol sources; ``raw`` is the old name of ``mid`` (kept as an alias)."""
    return {
        "mid": VolSource.MID_IV,
        "provider": VolSource.PROVIDER_IV,
        "surface": VolSource.FITTED_SURFACE,
        "raw": VolSource.MID_IV,
        "raw_chain_iv": VolSource.MID_IV,
    }


def _model_choices() -> dict[str, tuple[str, dict[str, Any]]]:
    """ModelConfig field -> (CLI option, accepted names -> enum value)."""

    def own(cls: type[Any]) -> dict[str, Any]:
        return {m.value.lower(): m for m in cls}

    return {
        "vol_source": ("--vol-source", _vol_source_choices() | own(VolSource)),
        "american_engine": (
            "--engine",
            {"bs2002": AmericanEngine.BJERKSUND_STENSLAND_2002} | own(AmericanEngine),
        ),
        "american_model": (
            "--american-model",
            {"european": AmericanModel.BSM} | own(AmericanModel),
        ),
        "european_model": ("--european-model", own(EuropeanModel)),
        "unknown_style_as": (
            "--unknown-style",
            {k: v for k, v in own(ExerciseStyle).items() if v is not ExerciseStyle.UNKNOWN},
        ),
        "time_basis": ("--time-basis", own(TimeBasis)),
        "theta_convention": (
            "--theta",
            {"calendar": ThetaConvention.CALENDAR_DAY, "trading": ThetaConvention.TRADING_DAY}
            | own(ThetaConvention),
        ),
        "iv_price_source": ("--iv-price-source", own(PriceSource)),
        "pricing_mode": ("--pricing-mode", own(PricingMode)),
    }


def model_option_help(field: str, text: str) -> str:
    """Help text of a model option listing its accepted names."""
    option, names = _model_choices()[field]
    del option
    return f"{text} One of: {', '.join(names)}."


def _choose(field: str, value: str, where: str) -> Any:
    option, names = _model_choices()[field]
    key = value.strip().lower()
    if key not in names:
        fail(f"{where or option} must be one of {', '.join(names)}; got {value!r}")
    return names[key]


def read_model_config_file(path: Path) -> dict[str, Any]:
    """ModelConfig fields from a JSON or TOML file (a flat table; unknown keys are an error)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--config {path}: cannot read it ({exc})")
    try:
        if path.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        fail(f"--config {path} is not valid {kind}: {exc}")
    if not isinstance(data, dict):
        fail(f"--config {path} must hold a table of ModelConfig fields, got {type(data).__name__}")
    known = set(ModelConfig.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        fail(
            f"--config {path}: unknown key(s) {', '.join(unknown)}; "
            f"the model config fields are {', '.join(sorted(known))}"
        )
    for key, value in data.items():
        if not isinstance(value, str):
            fail(f"--config {path}: {key} must be a string, got {value!r}")
    return dict(data)


def model_config_from_options(
    options: Mapping[str, str | None] | None = None,
    *,
    config_file: Path | None = None,
    vol_source: str | None = None,
    engine: str | None = None,
) -> ModelConfig:
    """The model config of ``--config FILE`` overridden by the model options given.

    ``options`` maps ModelConfig field names to the CLI text (None: not given); fields given
    neither way take the :class:`ModelConfig` defaults. ``vol_source`` and ``engine`` are
    shorthands for ``options["vol_source"]`` and ``options["american_engine"]``.
    """
    given: dict[str, str | None] = dict(options or {})
    given.setdefault("vol_source", vol_source)
    given.setdefault("american_engine", engine)
    values: dict[str, Any] = {}
    if config_file is not None:
        for key, value in read_model_config_file(config_file).items():
            values[key] = (
                value
                if key == "day_count"
                else _choose(key, value, f"--config {config_file}: {key}")
            )
    for key, value in given.items():
        if value is not None:
            values[key] = _choose(key, value, "")
    with user_errors():
        return ModelConfig(**values)
    raise AssertionError("unreachable")  # pragma: no cover


# -- scenario grid ------------------------------------------------------------------------------


def analysis_inputs(
    *,
    model: Mapping[str, str | None],
    config_file: Path | None,
    spot_range: str | None,
    sigmas: str | None,
    spot_steps: str | None,
    vol_shifts: str | None,
    dates: str | None,
) -> tuple[ModelConfig, ScenarioGrid]:
    """The model config and scenario grid of the options shared by evaluate and compare."""
    config = model_config_from_options(model, config_file=config_file)
    grid = grid_from_options(
        spot_range=spot_range,
        sigmas=sigmas,
        spot_steps=spot_steps,
        vol_shifts=vol_shifts,
        dates=dates,
    )
    return config, grid


def grid_from_options(
    *,
    spot_range: str | None,
    sigmas: str | None,
    spot_steps: str | None,
    vol_shifts: str | None,
    dates: str | None,
) -> ScenarioGrid:
    """The scenario grid of the grid options; an option not given keeps the domain default.

    With neither ``--spot-range`` nor ``--sigmas`` the spot axis is :class:`ScenarioGrid`'s
    default, so the CLI follows the domain's choice of axis.
    """
    if spot_range is not None and sigmas is not None:
        fail("give at most one of --spot-range PERCENT or --sigmas N")
    values: dict[str, Any] = {}
    if spot_range is not None:
        pct = parse_number(spot_range, "--spot-range", high=99.0, above=0.0)
        values |= {"spot_range_kind": SpotRangeKind.PERCENT, "spot_min": -pct, "spot_max": pct}
    if sigmas is not None:
        n = parse_number(sigmas, "--sigmas", high=20.0, above=0.0)
        values |= {"spot_range_kind": SpotRangeKind.SIGMA, "spot_min": -n, "spot_max": n}
    if spot_steps is not None:
        values["spot_steps"] = parse_whole(
            spot_steps, "--spot-steps", low=2, high=ScenarioGrid.MAX_STEPS
        )
    if vol_shifts is not None:
        values["vol_shifts"] = parse_vol_shifts(vol_shifts)
    if dates is not None:
        values["n_dates"] = parse_whole(dates, "--dates", low=2, high=1000)
    with user_errors():
        return ScenarioGrid(**values)
    raise AssertionError("unreachable")  # pragma: no cover


# -- results and files --------------------------------------------------------------------------


def fail_on_result_errors(errors: list[dict[str, Any]], what: str) -> None:
    """Exit 1 with one line when an analytics result carries errors (nothing valued, ...)."""
    if not errors:
        return
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    fail(f"{what} failed: {first.get('code')}: {first.get('message')}{more}")


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it over ``path``.

    The temporary file keeps ``path``'s suffix (writers pick the format from it). On an error
    it is removed and ``path`` is left as it was: a reader never sees a half-written file.
    """
    directory = path.parent if str(path.parent) else Path()
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=directory)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if path.exists():  # keep the mode of the file it replaces; a new one stays 0600
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(directory)


SESSION_LOOKBACK_DAYS = 10
"""How far back ``session_day`` looks for the last NYSE session (a long holiday is < 10)."""


def session_day(text: str | None, option: str = "--date") -> date:
    """The date ``text`` (YYYY-MM-DD), or the last NYSE session on or before today (UTC)."""
    if text is not None:
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            fail(f"{option} {text!r} is not a date written YYYY-MM-DD")
    today = datetime.now(UTC).date()
    for back in range(SESSION_LOOKBACK_DAYS):
        day = today - timedelta(days=back)
        if is_trading_day(day):
            return day
    fail(f"no NYSE session in the {SESSION_LOOKBACK_DAYS} days up to {today}: pass {option}")
