"""Request and response bodies of the workbench routes: market, snapshots, trades, analytics.

Wire conventions: ids are strings; decimals (quantities, prices, fees, strikes, spots) are
strings in responses and accepted as strings or numbers in requests, parsed strictly by
:mod:`riskdesk.domain.numbers` (plain ASCII decimal text, at most 8 places, below 1e12) so a
bad value is a 422 naming the field; timestamps are ISO-8601 UTC. Every request body has an
example in the OpenAPI schema.

The models only translate: :meth:`to_domain` builds the domain value the use case takes, and
``from_*`` class methods build a response from what the use case returned.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

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
)
from riskdesk.domain.instruments import (
    ExerciseStyle,
    Instrument,
    OptionContract,
    OptionRight,
    Stock,
)
from riskdesk.domain.market import MarketSnapshot, OptionQuote
from riskdesk.domain.numbers import check_amount, parse_decimal
from riskdesk.domain.trades import Leg, TradeDraft, TradeVersion
from riskdesk.workbench.usecases import (
    ConfigRef,
    DraftRef,
    GridRef,
    SnapshotRef,
    SnapshotSummary,
    VersionRef,
    VersionSummary,
)

__all__ = [
    "AttributeIn",
    "AttributionOut",
    "ChainOut",
    "ChainRowOut",
    "CompareIn",
    "DecimalIn",
    "DraftCreateIn",
    "DraftOut",
    "DraftPatchIn",
    "EvaluateIn",
    "GridOut",
    "LegIn",
    "LegOut",
    "LegPatchIn",
    "ModelConfigIn",
    "ModelConfigOut",
    "OptionIn",
    "QuoteOut",
    "ScenarioGridIn",
    "SnapshotCreateIn",
    "SnapshotOut",
    "SnapshotRefreshIn",
    "SnapshotSummaryOut",
    "StockIn",
    "SymbolOut",
    "TradeSelector",
    "VersionOut",
    "VersionSummaryOut",
    "decimal_text",
    "to_jsonable",
]

MAX_MINUTES = 525_600
"""Longest refresh step (a year of minutes)."""

MAX_SEED = 2**63 - 1
"""Largest synthetic-market seed."""

MAX_LEGS = 50
"""Most legs a draft may be created with in one request."""

_SYMBOL = r"^[A-Z][A-Z0-9.\-]{0,15}$"


def decimal_text(value: Decimal | None) -> str | None:
    """A decimal as plain text, trailing zeros dropped and no exponent.

    The same value reads the same whether it came from a request or from a ``NUMERIC(20, 8)``
    column: ``Decimal('1.00000000')`` -> ``'1'``, ``Decimal('5E+2')`` -> ``'500'``.
    """
    if value is None:
        return None
    return format(value.normalize(), "f")


def _parse_decimal_input(value: Any, info: ValidationInfo) -> Decimal:
    name = info.field_name or "value"
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a decimal number (a string or a number), got a boolean")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
        text = repr(value)
    elif isinstance(value, int | Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError(
            f'{name} must be a decimal number as a string (e.g. "1.25") or a number, got '
            f"{type(value).__name__}"
        )
    return check_amount(parse_decimal(text, field=name), field=name)


DecimalIn = Annotated[
    Decimal,
    BeforeValidator(_parse_decimal_input),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "string",
                    "pattern": r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$",
                },
                {"type": "number"},
            ],
            "description": "A decimal number: a string (preferred, exact) or a JSON number.",
        }
    ),
]
"""A request decimal: a string or a number, strict plain decimal text, at most 8 places."""


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must carry a time zone (e.g. 2026-11-20T15:00:00Z)")
    return value.astimezone(UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class _Out(BaseModel):
    model_config = ConfigDict(protected_namespaces=())


# -- market ----------------------------------------------------------------------------------


class SymbolOut(_Out):
    """A symbol the service's synthetic market offers."""

    symbol: str = Field(examples=["SPY"])
    kind: str = Field(examples=["ETF"])
    reference_spot: str = Field(
        description="The seeded reference spot of the market (a decimal string).",
        examples=["601.06"],
    )


class ChainRowOut(_Out):
    """One option quote of a chain: a strike and right of one expiry."""

    expiry: date
    strike: str
    right: Literal["C", "P"]
    style: str
    bid: str | None
    ask: str | None
    mid: str | None
    mark: str | None
    iv: float | None = Field(description="The provider's implied vol, when stored (decimal).")
    volume: int | None
    open_interest: int | None

    @classmethod
    def from_quote(cls, quote: OptionQuote) -> ChainRowOut:
        """The wire row of ``quote``."""
        contract = quote.contract
        return cls(
            expiry=contract.expiry,
            strike=decimal_text(contract.strike) or "0",
            right="C" if contract.right is OptionRight.CALL else "P",
            style=contract.style.value,
            bid=decimal_text(quote.bid),
            ask=decimal_text(quote.ask),
            mid=decimal_text(quote.mid),
            mark=decimal_text(quote.mark),
            iv=quote.iv,
            volume=quote.volume,
            open_interest=quote.open_interest,
        )


class ChainOut(_Out):
    """The option chain of one underlying in one snapshot (optionally one expiry)."""

    snapshot_id: str
    snapshot_hash: str
    mode: str
    as_of: datetime
    symbol: str
    spot: str
    expiries: list[date] = Field(description="Every expiry the snapshot holds for the symbol.")
    rows: list[ChainRowOut]


class QuoteOut(_Out):
    """The underlying quote of the newest snapshot of a symbol."""

    symbol: str
    snapshot_id: str
    snapshot_hash: str
    as_of: datetime
    spot: str
    bid: str | None
    ask: str | None
    last: str | None
    cached: bool = Field(description="True when served from the live-quote cache.")


# -- snapshots -------------------------------------------------------------------------------


class SnapshotCreateIn(_In):
    """Take a snapshot of the service's synthetic market."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "seed": 7,
                    "as_of": "2026-11-20T15:00:00Z",
                    "symbols": ["SPY"],
                    "mode": "LIVE",
                    "rate": 0.043,
                    "dividend_yield": {"SPY": 0.012},
                }
            ]
        },
    )

    seed: int | None = Field(
        None, ge=0, le=MAX_SEED, description="Market seed (default: the service's)."
    )
    as_of: AwareDatetime | None = Field(None, description="Market time (default: now).")
    symbols: list[Annotated[str, Field(pattern=_SYMBOL)]] | None = Field(
        None, min_length=1, max_length=20, description="Underlyings (default: all offered)."
    )
    mode: Literal["LIVE", "PINNED"] = "LIVE"
    rate: float | None = Field(None, ge=-1.0, le=1.0, allow_inf_nan=False)
    dividend_yield: dict[Annotated[str, Field(pattern=_SYMBOL)], float] | None = Field(
        None, max_length=20
    )
    borrow_rate: dict[Annotated[str, Field(pattern=_SYMBOL)], float] | None = Field(
        None, max_length=20
    )


class SnapshotRefreshIn(_In):
    """Re-mark a LIVE synthetic snapshot ``minutes`` later along its path."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"minutes": 5}]})

    minutes: int = Field(ge=1, le=MAX_MINUTES)
    seed: int | None = Field(
        None,
        ge=0,
        le=MAX_SEED,
        description="The seed it was created with (default: the service's).",
    )


class UnderlyingOut(_Out):
    """An underlying quote of a snapshot."""

    symbol: str
    spot: str
    bid: str | None
    ask: str | None
    last: str | None


class SnapshotOut(_Out):
    """A stored snapshot."""

    snapshot_id: str
    snapshot_hash: str
    created: bool = Field(description="True when this request stored it.")
    mode: str
    as_of: datetime
    source: str
    symbols: list[str]
    underlyings: list[UnderlyingOut]
    option_quotes: int
    overrides: dict[str, Any]

    @classmethod
    def from_ref(cls, ref: SnapshotRef) -> SnapshotOut:
        """The wire form of a stored snapshot."""
        snap: MarketSnapshot = ref.snapshot
        return cls(
            snapshot_id=str(ref.snapshot_id),
            snapshot_hash=ref.snapshot_hash,
            created=ref.created,
            mode=snap.mode.value,
            as_of=_utc(snap.as_of),
            source=snap.source,
            symbols=[u.symbol for u in snap.underlyings],
            underlyings=[
                UnderlyingOut(
                    symbol=u.symbol,
                    spot=decimal_text(u.spot) or "0",
                    bid=decimal_text(u.bid),
                    ask=decimal_text(u.ask),
                    last=decimal_text(u.last),
                )
                for u in snap.underlyings
            ],
            option_quotes=len(snap.options),
            overrides=to_jsonable(snap.overrides.to_dict()),
        )


class SnapshotSummaryOut(_Out):
    """One row of the snapshot list."""

    snapshot_id: str
    snapshot_hash: str
    mode: str
    as_of: datetime
    source: str
    symbol: str
    created_at: datetime | None

    @classmethod
    def from_summary(cls, item: SnapshotSummary) -> SnapshotSummaryOut:
        """The wire form of a list row."""
        return cls(
            snapshot_id=str(item.snapshot_id),
            snapshot_hash=item.snapshot_hash,
            mode=item.mode,
            as_of=_utc(item.as_of),
            source=item.source,
            symbol=item.symbol,
            created_at=None if item.created_at is None else _utc(item.created_at),
        )


def to_jsonable(value: Any) -> Any:
    """``value`` with Decimals as plain strings and dates/times as ISO text (JSON-ready)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- trades ----------------------------------------------------------------------------------


class OptionIn(_In):
    """A listed option contract."""

    type: Literal["option"] = "option"
    underlying: str = Field(pattern=_SYMBOL, examples=["SPY"])
    expiry: date = Field(examples=["2026-12-18"])
    strike: DecimalIn = Field(examples=["600"])
    right: Literal["C", "P", "CALL", "PUT"] = Field(examples=["C"])
    style: Literal["AMERICAN", "EUROPEAN"] = "AMERICAN"

    def to_domain(self) -> OptionContract:
        """The domain contract."""
        right = OptionRight.CALL if self.right in ("C", "CALL") else OptionRight.PUT
        return OptionContract(
            underlying=self.underlying,
            expiry=self.expiry,
            strike=self.strike,
            right=right,
            style=ExerciseStyle(self.style),
        )


class StockIn(_In):
    """Shares of an underlying."""

    type: Literal["stock"]
    symbol: str = Field(pattern=_SYMBOL, examples=["SPY"])

    def to_domain(self) -> Stock:
        """The domain stock."""
        return Stock(symbol=self.symbol)


_LEG_EXAMPLE: dict[str, Any] = {
    "instrument": {
        "type": "option",
        "underlying": "SPY",
        "expiry": "2026-12-18",
        "strike": "600",
        "right": "C",
        "style": "AMERICAN",
    },
    "quantity": "-1",
    "snapshot": "0193a1f2-c3d4-4e5f-8a9b-0c1d2e3f4a5b",
    "fees": "0.65",
}


class LegIn(_In):
    """A leg to add: instrument, signed quantity, and a price or a snapshot to price it from."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_LEG_EXAMPLE]})

    instrument: Annotated[OptionIn | StockIn, Field(discriminator="type")]
    quantity: DecimalIn = Field(description="Signed: positive buys, negative sells.")
    price: DecimalIn | None = Field(None, description="Entry price per unit.")
    snapshot: uuid.UUID | None = Field(
        None, description="Without price: take the ask (buy) or bid (sell) from this snapshot."
    )
    fees: DecimalIn = Field(default=Decimal(0))

    @model_validator(mode="after")
    def _needs_entry(self) -> LegIn:
        if self.price is None and self.snapshot is None:
            raise ValueError("a leg needs price, or snapshot to take the bid/ask from")
        return self

    def instrument_domain(self) -> Instrument:
        """The domain instrument."""
        return self.instrument.to_domain()


class DraftCreateIn(_In):
    """A new draft, optionally with legs."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "SPY iron condor", "legs": [_LEG_EXAMPLE]}]},
    )

    name: str = Field(min_length=1, max_length=255)
    legs: list[LegIn] = Field(default_factory=list, max_length=MAX_LEGS)


class DraftPatchIn(_In):
    """Rename a draft."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "SPY condor (wider)"}]}
    )

    name: str = Field(min_length=1, max_length=255)


class LegPatchIn(_In):
    """Change a leg: any of quantity, entry price, fees, include."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"quantity": "-2", "entry_price": "4.15"}]},
    )

    quantity: DecimalIn | None = None
    entry_price: DecimalIn | None = None
    fees: DecimalIn | None = None
    include: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> LegPatchIn:
        if (
            self.quantity is None
            and self.entry_price is None
            and self.fees is None
            and self.include is None
        ):
            raise ValueError("give at least one of quantity, entry_price, fees or include")
        return self


class InstrumentOut(_Out):
    """An option contract (``type`` option) or a stock."""

    type: Literal["option", "stock"]
    symbol: str = Field(description="The underlying of an option, the stock's symbol.")
    expiry: date | None = None
    strike: str | None = None
    right: Literal["C", "P"] | None = None
    style: str | None = None
    multiplier: int

    @classmethod
    def from_domain(cls, instrument: Instrument) -> InstrumentOut:
        """The wire form of ``instrument``."""
        if isinstance(instrument, OptionContract):
            return cls(
                type="option",
                symbol=instrument.underlying,
                expiry=instrument.expiry,
                strike=decimal_text(instrument.strike),
                right="C" if instrument.right is OptionRight.CALL else "P",
                style=instrument.style.value,
                multiplier=instrument.multiplier,
            )
        return cls(type="stock", symbol=instrument.symbol, multiplier=instrument.multiplier)


class LegOut(_Out):
    """A leg: instrument, signed quantity, entry price, fees, included or not."""

    leg_id: str | None = Field(description="The draft leg's id (null in a version).")
    instrument: InstrumentOut
    quantity: str
    entry_price: str
    fees: str
    include: bool

    @classmethod
    def from_leg(cls, leg: Leg, leg_id: str | None = None) -> LegOut:
        """The wire form of ``leg``."""
        return cls(
            leg_id=leg_id,
            instrument=InstrumentOut.from_domain(leg.instrument),
            quantity=decimal_text(leg.quantity) or "0",
            entry_price=decimal_text(leg.entry_price) or "0",
            fees=decimal_text(leg.fees) or "0",
            include=leg.include,
        )


class DraftOut(_Out):
    """A trade draft (``rev`` is also its ``ETag``)."""

    id: str
    name: str
    rev: int
    created_at: datetime | None
    updated_at: datetime | None
    legs: list[LegOut]

    @classmethod
    def from_ref(cls, ref: DraftRef) -> DraftOut:
        """The wire form of a stored draft."""
        draft: TradeDraft = ref.draft
        return cls(
            id=str(ref.draft_id),
            name=draft.name,
            rev=ref.rev,
            created_at=None if ref.created_at is None else _utc(ref.created_at),
            updated_at=None if ref.updated_at is None else _utc(ref.updated_at),
            legs=[LegOut.from_leg(item.leg, item.leg_id) for item in draft.legs],
        )


class VersionOut(_Out):
    """A committed, hashed trade version."""

    id: str
    trade_hash: str
    name: str
    created: bool = Field(description="True when this commit stored a new version.")
    created_at: datetime | None
    legs: list[LegOut]

    @classmethod
    def from_ref(cls, ref: VersionRef) -> VersionOut:
        """The wire form of a version."""
        version: TradeVersion = ref.version
        return cls(
            id=str(ref.trade_version_id),
            trade_hash=ref.trade_hash,
            name=version.name,
            created=ref.created,
            created_at=None if ref.created_at is None else _utc(ref.created_at),
            legs=[LegOut.from_leg(leg) for leg in version.legs],
        )


class VersionSummaryOut(_Out):
    """One of your commits: the version and the draft revision it froze."""

    id: str
    trade_hash: str
    name: str
    created_at: datetime
    committed_at: datetime | None
    draft_id: str | None
    draft_rev: int | None

    @classmethod
    def from_summary(cls, item: VersionSummary) -> VersionSummaryOut:
        """The wire form of a list row."""
        return cls(
            id=str(item.trade_version_id),
            trade_hash=item.trade_hash,
            name=item.name,
            created_at=_utc(item.created_at),
            committed_at=None if item.committed_at is None else _utc(item.committed_at),
            draft_id=None if item.trade_draft_id is None else str(item.trade_draft_id),
            draft_rev=item.draft_rev,
        )


# -- configs and grids -----------------------------------------------------------------------


class ModelConfigIn(_In):
    """Pricing model settings (every field optional: the defaults are riskdesk's)."""

    model_config = ConfigDict(
        extra="forbid",
        protected_namespaces=(),
        json_schema_extra={
            "examples": [
                {
                    "american_model": "american",
                    "american_engine": "bjerksund_stensland_2002",
                    "vol_source": "MID_IV",
                    "time_basis": "calendar",
                }
            ]
        },
    )

    european_model: EuropeanModel = EuropeanModel.BSM
    american_model: AmericanModel = AmericanModel.AMERICAN
    american_engine: AmericanEngine = AmericanEngine.BJERKSUND_STENSLAND_2002
    unknown_style_as: Literal["AMERICAN", "EUROPEAN"] = "AMERICAN"
    vol_source: Literal["MID_IV", "PROVIDER_IV", "FITTED_SURFACE"] = "MID_IV"
    day_count: Literal["ACT/365F"] = "ACT/365F"
    time_basis: TimeBasis = TimeBasis.CALENDAR
    theta_convention: ThetaConvention = ThetaConvention.CALENDAR_DAY
    iv_price_source: PriceSource = PriceSource.MID
    pricing_mode: PricingMode = PricingMode.MODEL

    def to_domain(self) -> ModelConfig:
        """The domain config."""
        return ModelConfig.from_dict(self.model_dump(mode="json"))

    @classmethod
    def from_domain(cls, config: ModelConfig) -> ModelConfigIn:
        """The wire form of ``config``."""
        return cls.model_validate(config.to_dict())


class ScenarioGridIn(_In):
    """Spot x vol x date scenario axes (every field optional: the defaults are riskdesk's)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "spot_range_kind": "PERCENT",
                    "spot_min": -10,
                    "spot_max": 10,
                    "spot_steps": 21,
                    "vol_shifts": [-5, 0, 5],
                    "n_dates": 3,
                }
            ]
        },
    )

    spot_range_kind: SpotRangeKind = SpotRangeKind.SIGMA
    spot_min: float = Field(-3.0, allow_inf_nan=False)
    spot_max: float = Field(3.0, allow_inf_nan=False)
    spot_steps: int = Field(41, ge=2, le=ScenarioGrid.MAX_STEPS)
    vol_shifts: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(
        default_factory=lambda: [float(v) for v in range(-10, 11)],
        min_length=1,
        max_length=1001,
    )
    n_dates: int | None = Field(10, ge=2, le=1000)
    dates: list[Annotated[AwareDatetime | date, Field(union_mode="left_to_right")]] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="Horizon instants: a date means that day's close (16:00 New York); a "
        "timestamp with a zone is that instant (e.g. the snapshot's time for T+0).",
    )

    @model_validator(mode="before")
    @classmethod
    def _dates_replace_n_dates(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("dates") is not None and "n_dates" not in data:
            return {**data, "n_dates": None}
        return data

    def to_domain(self) -> ScenarioGrid:
        """The domain grid (its own rules checked: a ValueError is a 422)."""
        return ScenarioGrid.from_dict(self.model_dump(mode="json"))

    @classmethod
    def from_domain(cls, grid: ScenarioGrid) -> ScenarioGridIn:
        """The wire form of ``grid``."""
        return cls.model_validate(grid.to_dict())


class ModelConfigOut(_Out):
    """A stored model config."""

    id: str
    model_config_hash: str
    created: bool = Field(description="True when this request stored it.")
    created_at: datetime
    config: ModelConfigIn

    @classmethod
    def from_ref(cls, ref: ConfigRef) -> ModelConfigOut:
        """The wire form of a stored config."""
        return cls(
            id=str(ref.model_config_id),
            model_config_hash=ref.model_config_hash,
            created=ref.created,
            created_at=_utc(ref.created_at),
            config=ModelConfigIn.from_domain(ref.config),
        )


class GridOut(_Out):
    """A stored scenario grid."""

    id: str
    scenario_grid_hash: str
    created: bool = Field(description="True when this request stored it.")
    created_at: datetime
    grid: ScenarioGridIn

    @classmethod
    def from_ref(cls, ref: GridRef) -> GridOut:
        """The wire form of a stored grid."""
        return cls(
            id=str(ref.scenario_grid_id),
            scenario_grid_hash=ref.scenario_grid_hash,
            created=ref.created,
            created_at=_utc(ref.created_at),
            grid=ScenarioGridIn.from_domain(ref.grid),
        )


# -- analytics -------------------------------------------------------------------------------


class TradeSelector(_In):
    """A trade to analyse: one of your drafts (as it is now) or one of your versions."""

    draft_id: uuid.UUID | None = None
    version_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TradeSelector:
        if (self.draft_id is None) == (self.version_id is None):
            raise ValueError("give exactly one of draft_id or version_id")
        return self

    def ref(self) -> str:
        """The workbench reference (``draft:<id>`` or ``version:<id>``)."""
        if self.draft_id is not None:
            return f"draft:{self.draft_id}"
        return f"version:{self.version_id}"


class _Analysis(_In):
    model_config = ConfigDict(extra="forbid", protected_namespaces=(), populate_by_name=True)

    config: ModelConfigIn | None = Field(
        None, alias="model_config", description="Inline model config (or model_config_id)."
    )
    model_config_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _config_once(self) -> _Analysis:
        if self.config is not None and self.model_config_id is not None:
            raise ValueError("give model_config or model_config_id, not both")
        return self


class _GridAnalysis(_Analysis):
    scenario_grid: ScenarioGridIn | None = Field(
        None, description="Inline scenario grid (or scenario_grid_id)."
    )
    scenario_grid_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _grid_once(self) -> _GridAnalysis:
        if self.scenario_grid is not None and self.scenario_grid_id is not None:
            raise ValueError("give scenario_grid or scenario_grid_id, not both")
        return self


class EvaluateIn(_GridAnalysis):
    """Evaluate a trade on a snapshot under a model config and a scenario grid."""

    model_config = ConfigDict(
        extra="forbid",
        protected_namespaces=(),
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "trade": {"draft_id": "0193a1f2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"},
                    "snapshot_id": "0193a1f2-c3d4-4e5f-8a9b-0c1d2e3f4a00",
                    "model_config": {"vol_source": "MID_IV"},
                    "scenario_grid": {"spot_steps": 21, "vol_shifts": [-5, 0, 5], "n_dates": 3},
                }
            ]
        },
    )

    trade: TradeSelector
    snapshot_id: uuid.UUID


class CompareIn(_GridAnalysis):
    """Compare trades A and B on one snapshot: A, B and A-B."""

    model_config = ConfigDict(
        extra="forbid",
        protected_namespaces=(),
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "a": {"version_id": "0193a1f2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"},
                    "b": {"draft_id": "0193a1f2-c3d4-4e5f-8a9b-0c1d2e3f4a5c"},
                    "snapshot_id": "0193a1f2-c3d4-4e5f-8a9b-0c1d2e3f4a00",
                    "scenario_grid": {"spot_steps": 11, "vol_shifts": [0], "n_dates": 2},
                }
            ]
        },
    )

    a: TradeSelector
    b: TradeSelector
    snapshot_id: uuid.UUID


class AttributeIn(_Analysis):
    """P&L attribution of a trade from a base snapshot to a compare snapshot or base + days."""

    model_config = ConfigDict(
        extra="forbid",
        protected_namespaces=(),
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "trade": {"version_id": "0193a1f2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"},
                    "base_snapshot_id": "0193a1f2-c3d4-4e5f-8a9b-0c1d2e3f4a00",
                    "days": 5,
                }
            ]
        },
    )

    trade: TradeSelector
    base_snapshot_id: uuid.UUID
    compare_snapshot_id: uuid.UUID | None = None
    days: float | None = Field(None, gt=0, le=3650, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_target(self) -> AttributeIn:
        if (self.compare_snapshot_id is None) == (self.days is None):
            raise ValueError("give exactly one of compare_snapshot_id or days")
        return self


class AttributionOut(_Out):
    """A stored P&L attribution and its result document."""

    id: str
    trade_ref_type: str
    trade_ref_id: str
    trade_hash: str | None
    snapshot_id: str | None
    model_config_id: str | None
    created_at: datetime | None
    result: dict[str, Any]
