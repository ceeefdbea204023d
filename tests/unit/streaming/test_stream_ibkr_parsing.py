"""IBKR parsing on recorded TWS payloads: contracts, option computations, positions."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from ib_async import Contract, Option, OptionComputation, Position, Stock

import riskdesk.adapters.ibkr as ibkr
from riskdesk.adapters.ibkr.parsing import (
    UNSET_DOUBLE,
    ComputationValues,
    IbkrParseError,
    computation_raw,
    computation_values,
    contract_to_ib_option,
    decode_tick_option_computation,
    greeks_tick,
    ib_contract_to_contract,
    ib_contract_to_occ,
    occ_to_ib_option,
    position_update,
    raw_computation_values,
)
from riskdesk.domain.instruments import OptionRight
from riskdesk.streaming.normalize import Normalizer

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)

# tickOptionComputation messages as TWS (server version 176) writes them on the socket
FULL = ["21", "5", "13", "0", "0.2133", "0.5213", "6.41", "0", "0.0291", "0.6612", "-0.2189", "580.12"]  # fmt: skip
PARTIAL = ["21", "5", "13", "0", "-1", "0.48", "6.2", "0", "-2", "1.7976931348623157E308", "-0.21", "579.8"]  # fmt: skip
EMPTY = ["21", "5", "13", "1", "-1", "-2", "-1", "-1", "-2", "-2", "-2", "-1"]  # fmt: skip
BLANKS = ["21", "9", "83", "0", "", "0.3", "", "", "Infinite", "nan", "-2", "101.5"]  # fmt: skip


def test_decode_tick_option_computation_with_full_model_greeks_returns_exact_values() -> None:
    computation = decode_tick_option_computation(FULL)
    assert (computation.req_id, computation.tick_type, computation.tick_attrib) == (5, 13, 0)
    assert computation.values == ComputationValues(
        implied_volatility=0.2133,
        delta=0.5213,
        option_price=6.41,
        pv_dividend=0.0,
        gamma=0.0291,
        vega=0.6612,
        theta=-0.2189,
        underlying_price=580.12,
    )
    assert computation.values.has_greek
    assert computation.values.missing == ()


def test_decode_tick_option_computation_with_sentinels_returns_missing_values() -> None:
    partial = decode_tick_option_computation(PARTIAL).values
    assert partial.implied_volatility is None
    assert partial.gamma is None
    assert partial.vega is None  # Double.MAX_VALUE
    assert (partial.delta, partial.theta, partial.underlying_price) == (0.48, -0.21, 579.8)
    assert partial.missing == ("gamma", "vega")
    empty = decode_tick_option_computation(EMPTY)
    assert empty.tick_attrib == 1
    assert empty.values == ComputationValues()
    assert not empty.values.has_greek
    blanks = decode_tick_option_computation(BLANKS)
    assert blanks.tick_type == 83
    assert blanks.values == ComputationValues(delta=0.3, underlying_price=101.5)
    assert blanks.wire["gamma"] == math.inf


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        (FULL[:-1], "expected 12 fields, got 11"),
        (["20", *FULL[1:]], "message id '20' is not 21"),
        ([*FULL[:5], "abc", *FULL[6:]], "delta: 'abc' is not a number"),
        (["21", "x", *FULL[2:]], "reqId: 'x' is not an integer"),
    ],
)
def test_decode_tick_option_computation_with_malformed_fields_raises_naming_the_field(
    fields: list[str], needle: str
) -> None:
    with pytest.raises(IbkrParseError, match=needle):
        decode_tick_option_computation(fields)


def test_computation_values_with_ib_async_computation_treats_kept_sentinels_as_missing() -> None:
    # ib_async 2.1 maps delta/gamma -2 to None but keeps vega/theta -2 and Double.MAX_VALUE
    computation = OptionComputation(
        tickAttrib=0,
        impliedVol=UNSET_DOUBLE,
        delta=0.41,
        optPrice=None,
        pvDividend=float("nan"),
        gamma=None,
        vega=-2.0,
        theta=-2.0,
        undPrice=float("inf"),
    )
    values = computation_values(computation)
    assert values == ComputationValues(delta=0.41)
    assert values.missing == ("gamma", "vega", "theta")


def test_raw_computation_values_with_negative_real_greeks_keeps_them() -> None:
    # theta -1 and delta -1 (deep ITM put) are real values, only -2 is the Greeks' sentinel
    values = raw_computation_values(0.3, -1.0, 2.5, 0.0, 0.01, 0.2, -1.0, 100.0)
    assert (values.delta, values.theta) == (-1.0, -1.0)
    assert values.pv_dividend == 0.0


def _raw(fields: list[str]) -> dict[str, object]:
    computation = decode_tick_option_computation(fields)
    return computation_raw(
        req_id=computation.req_id,
        tick_type=computation.tick_type,
        tick_attrib=computation.tick_attrib,
        wire=computation.wire,
        con_id=756733,
        local_symbol="SPY   250321C00580000",
    )


def test_computation_raw_with_non_finite_wire_values_is_json_safe() -> None:
    raw = _raw(BLANKS)
    text = json.dumps(raw, allow_nan=False)
    assert json.loads(text) == raw
    assert raw["gamma"] is None  # "Infinite"
    assert raw["vega"] is None  # "nan"
    assert raw["impliedVol"] == UNSET_DOUBLE  # empty field: unset, kept as TWS's number
    assert raw["theta"] == -2.0
    assert (raw["type"], raw["reqId"], raw["tickType"], raw["conId"]) == (
        "tickOptionComputation",
        9,
        83,
        756733,
    )


def test_greeks_tick_with_partial_and_empty_computations_normalizes_or_rejects() -> None:
    normalizer = Normalizer()
    ticks = [
        greeks_tick(
            decode_tick_option_computation(fields).values,
            account_id="DU000001",
            symbol="SPY:20250321:580:C",
            received_at=NOW,
            raw=_raw(fields),
        )
        for fields in (FULL, PARTIAL, EMPTY)
    ]
    assert all(t.event_time == NOW and t.broker == "ibkr" and t.rho is None for t in ticks)
    full, partial, empty = (normalizer.normalize(t) for t in ticks)
    assert full.record is not None
    assert full.record.delta == 0.5213
    assert partial.record is not None
    assert partial.record.gamma is None
    assert partial.record.vega is None
    assert partial.record.theta == -0.21
    assert partial.record.implied_volatility is None
    assert empty.record is None
    assert empty.reason == "no_greeks"
    assert normalizer.rejected == {"no_greeks": 1}


def test_ib_contract_to_contract_with_occ_local_symbol_keeps_the_occ_root() -> None:
    contract = Option(
        "SPX", "20250321", 5800.0, "C", "SMART", "100", "USD",
        conId=123, localSymbol="SPXW  250321C05800000", tradingClass="SPXW",
    )  # fmt: skip
    option = ib_contract_to_contract(contract)
    assert (option.underlying, option.expiry, option.strike, option.right) == (
        "SPXW",
        date(2025, 3, 21),
        Decimal("5800"),
        OptionRight.CALL,
    )
    assert ib_contract_to_occ(contract) == "SPXW  250321C05800000"
    assert ib_contract_to_occ(contract, padded=False) == "SPXW250321C05800000"


def test_ib_contract_to_contract_without_local_symbol_reads_the_fields() -> None:
    contract = Contract(
        secType="OPT", symbol="AAPL", lastTradeDateOrContractMonth="20250321 16:00 US/Eastern",
        strike=212.5, right="PUT", multiplier="10",
    )  # fmt: skip
    option = ib_contract_to_contract(contract)
    assert option.key == "AAPL:20250321:212.5:P:x10"
    assert option.multiplier == 10


@pytest.mark.parametrize(
    ("contract", "needle"),
    [
        (Stock("SPY", "SMART", "USD"), "secType 'STK' is not an option"),
        (
            Contract(
                secType="OPT",
                symbol="SPY",
                lastTradeDateOrContractMonth="202503",
                strike=580.0,
                right="C",
            ),
            "contract month YYYYMM",
        ),
        (
            Contract(
                secType="OPT",
                symbol="SPY",
                lastTradeDateOrContractMonth="20250321",
                strike=580.0,
                right="X",
            ),
            "right 'X' is not C, CALL, P or PUT",
        ),
        (
            Contract(
                secType="OPT",
                symbol="SPY",
                lastTradeDateOrContractMonth="20250321",
                strike=0.0,
                right="C",
            ),
            "must be a finite number > 0",
        ),
        (
            Contract(
                secType="OPT",
                symbol="SPY",
                lastTradeDateOrContractMonth="20250321",
                strike=580.0,
                right="C",
                multiplier="abc",
            ),
            "multiplier 'abc'",
        ),
    ],
)
def test_ib_contract_to_contract_with_bad_contract_raises_naming_the_field(
    contract: Contract, needle: str
) -> None:
    with pytest.raises(IbkrParseError, match=needle):
        ib_contract_to_contract(contract)


def test_contract_to_ib_option_with_occ_symbol_round_trips() -> None:
    option = occ_to_ib_option("QQQ250321P00490000", con_id=42)
    assert (option.secType, option.conId, option.exchange) == ("OPT", 42, "SMART")
    assert option.localSymbol == "QQQ   250321P00490000"
    assert (option.lastTradeDateOrContractMonth, option.strike, option.right) == (
        "20250321",
        490.0,
        "P",
    )
    back = ib_contract_to_contract(option)
    assert contract_to_ib_option(back, con_id=42) == option
    with pytest.raises(IbkrParseError, match="OCC symbol 'QQQ'"):
        occ_to_ib_option("QQQ")


def test_position_update_with_short_option_position_returns_signed_key_and_quantity() -> None:
    contract = Option(
        "SPY", "20250321", 580.0, "C", "", "100", "USD",
        conId=7, localSymbol="SPY   250321C00580000", tradingClass="SPY",
    )  # fmt: skip
    update = position_update(Position("DU000001", contract, -3.0, 512.5), event_time=NOW)
    assert (update.broker, update.account_id, update.symbol) == (
        "ibkr",
        "DU000001",
        "SPY:20250321:580:C",
    )
    assert update.quantity == Decimal("-3")
    assert update.event_time == NOW
    fractional = position_update(Position("DU000001", contract, 0.5, 1.0), event_time=NOW)
    assert fractional.quantity == Decimal("0.5")
    with pytest.raises(IbkrParseError, match="position nan is not a finite number"):
        position_update(Position("DU000001", contract, float("nan"), 1.0), event_time=NOW)


def test_ibkr_package_with_public_names_exports_parsing_surface() -> None:
    assert sorted(ibkr.__all__) == sorted(
        name for name in ibkr.__all__ if getattr(ibkr, name, None) is not None
    )
    assert {"IbkrParseError", "decode_tick_option_computation", "position_update"} <= set(
        ibkr.__all__
    )
