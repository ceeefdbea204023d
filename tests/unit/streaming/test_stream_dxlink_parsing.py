"""DXLink / dxFeed parsing: recorded Greeks event, every message type, symbols, positions."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from riskdesk.adapters.tastytrade.parsing import (
    DEFAULT_EVENT_FIELDS,
    AuthMessage,
    AuthState,
    AuthStateMessage,
    ChannelCancelMessage,
    ChannelClosedMessage,
    ChannelOpenedMessage,
    ChannelRequestMessage,
    DataFormat,
    DxlinkParseError,
    ErrorMessage,
    FeedConfigMessage,
    FeedDataMessage,
    FeedFields,
    FeedSetupMessage,
    FeedSubscription,
    FeedSubscriptionMessage,
    GreeksEvent,
    KeepaliveMessage,
    QuoteEvent,
    SetupMessage,
    SummaryEvent,
    TradeEvent,
    contract_to_streamer_symbol,
    decode_feed_data,
    encode_compact,
    occ_to_streamer_symbol,
    parse_message,
    parse_positions,
    streamer_symbol_to_contract,
    streamer_symbol_to_occ,
)
from riskdesk.domain.instruments import OptionContract, OptionRight

RECORDED = Path(__file__).parents[4] / "shared" / "reference" / "brokers"
RECORDED = RECORDED / "recorded_greeks_event_from_docs.txt"
GREEKS_FIELDS = DEFAULT_EVENT_FIELDS["Greeks"]
RECORDED_FRAME = (
    '{"type":"FEED_DATA","channel":N,"data":["Greeks",[".SPLG230616C23",0,0,'
    "7235129486797176832,1684559855338,0,26.3380972233688,0.396983376650804,"
    "0.999999999996191,4.81989763184255e-12,-2.5212017514875e-12,0.01834504287973133,"
    "3.7003015672215e-12]]}"
)


def _recorded_frame() -> str:
    if RECORDED.exists():  # the reconstructed frame, as the reference file prints it
        line = next(ln for ln in RECORDED.read_text().splitlines() if '"FEED_DATA"' in ln)
        assert line == RECORDED_FRAME
    return RECORDED_FRAME.replace('"channel":N', '"channel":1')


def _frame(data: list[object], channel: int = 1) -> FeedDataMessage:
    message = parse_message(json.dumps({"type": "FEED_DATA", "channel": channel, "data": data}))
    assert isinstance(message, FeedDataMessage)
    return message


def test_parse_recorded_greeks_frame_with_sdk_field_order_decodes_every_value() -> None:
    message = parse_message(_recorded_frame())
    assert isinstance(message, FeedDataMessage)

    (event,) = decode_feed_data(message, {"Greeks": GREEKS_FIELDS})

    assert isinstance(event, GreeksEvent)
    assert event.event_symbol == ".SPLG230616C23"
    assert (event.event_time, event.event_flags, event.sequence) == (0, 0, 0)
    assert event.index == 7235129486797176832
    assert event.time == 1684559855338
    assert event.price == Decimal("26.3380972233688")
    assert event.volatility == 0.396983376650804
    assert event.delta == 0.999999999996191
    assert event.gamma == 4.81989763184255e-12
    assert event.theta == -2.5212017514875e-12
    assert event.rho == 0.01834504287973133
    assert event.vega == 3.7003015672215e-12
    assert event.raw["eventSymbol"] == ".SPLG230616C23"


def test_decode_feed_data_with_several_events_flattened_decodes_all_in_order() -> None:
    fields = FeedFields(configured={"Greeks": ("eventSymbol", "eventTime", "delta")})
    message = _frame(
        ["Greeks", [".A250321C1", 1, 0.1, ".B250321P2", 2, -0.2, ".C250321C3", 3, 0.3]]
    )

    events = decode_feed_data(message, fields)

    assert [(e.event_symbol, e.event_time, getattr(e, "delta", None)) for e in events] == [
        (".A250321C1", 1, 0.1),
        (".B250321P2", 2, -0.2),
        (".C250321C3", 3, 0.3),
    ]


def test_decode_feed_data_with_two_event_types_in_one_frame_decodes_both() -> None:
    fields = {"Quote": ("eventSymbol", "bidPrice", "askPrice"), "Trade": ("eventSymbol", "price")}
    message = _frame(["Quote", ["SPY", 1.5, 1.6, "QQQ", 2.5, 2.75], "Trade", ["SPY", 1.55]])

    events = decode_feed_data(message, fields)

    assert [type(e) for e in events] == [QuoteEvent, QuoteEvent, TradeEvent]
    assert isinstance(events[1], QuoteEvent)
    assert events[1].ask_price == Decimal("2.75")
    assert isinstance(events[2], TradeEvent)
    assert events[2].price == Decimal("1.55")


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_decode_feed_data_with_nan_or_infinity_string_gives_none(token: str) -> None:
    fields = {"Greeks": ("eventSymbol", "price", "delta", "vega")}
    (event,) = decode_feed_data(_frame(["Greeks", [".X250321C1", token, token, 0.5]]), fields)

    assert isinstance(event, GreeksEvent)
    assert event.price is None
    assert event.delta is None
    assert event.vega == 0.5


def test_decode_feed_data_with_json_nan_literal_gives_none_never_float_nan() -> None:
    text = (
        '{"type":"FEED_DATA","channel":1,"data":["Greeks",[".X250321C1",NaN,Infinity,-Infinity]]}'
    )
    message = parse_message(text)
    assert isinstance(message, FeedDataMessage)

    (event,) = decode_feed_data(message, {"Greeks": ("eventSymbol", "gamma", "theta", "rho")})

    assert isinstance(event, GreeksEvent)
    values = (event.gamma, event.theta, event.rho)
    assert values == (None, None, None)
    assert not any(isinstance(v, float) and math.isnan(v) for v in values)


def test_decode_feed_data_with_quote_sizes_nan_gives_missing_sizes() -> None:
    fields = {"Quote": ("eventSymbol", "bidPrice", "bidSize", "askPrice", "askSize")}
    (event,) = decode_feed_data(_frame(["Quote", ["SPX", 4122.49, "NaN", 4123.65, "NaN"]]), fields)

    assert isinstance(event, QuoteEvent)
    assert (event.bid_price, event.ask_price) == (Decimal("4122.49"), Decimal("4123.65"))
    assert (event.bid_size, event.ask_size) == (None, None)


def test_decode_feed_data_with_summary_event_decodes_prices_and_open_interest() -> None:
    fields = {"Summary": ("eventSymbol", "dayOpenPrice", "openInterest", "dayClosePriceType")}
    (event,) = decode_feed_data(_frame(["Summary", [".S250321C1", 1.25, 1200, "REGULAR"]]), fields)

    assert isinstance(event, SummaryEvent)
    assert (event.day_open_price, event.open_interest) == (Decimal("1.25"), 1200)
    assert event.day_close_price_type == "REGULAR"


def test_decode_feed_data_with_full_format_objects_decodes_them() -> None:
    message = _frame([{"eventType": "Greeks", "eventSymbol": ".X250321C1", "delta": 0.4}])

    (event,) = decode_feed_data(message, {})

    assert isinstance(event, GreeksEvent)
    assert event.delta == 0.4
    assert event.gamma is None


def test_decode_feed_data_with_wrong_arity_raises_naming_counts() -> None:
    fields = {"Greeks": ("eventSymbol", "delta", "gamma")}

    with pytest.raises(DxlinkParseError, match=r"wrong arity: 4 values .* 3 fields"):
        decode_feed_data(_frame(["Greeks", [".X250321C1", 0.1, 0.2, ".Y"]]), fields)


def test_decode_feed_data_with_unknown_event_type_raises() -> None:
    with pytest.raises(DxlinkParseError, match="unknown event type 'Candle'"):
        decode_feed_data(_frame(["Candle", ["AAPL{=d}", 1.0]]), {"Candle": ("eventSymbol", "open")})


def test_decode_feed_data_with_non_numeric_field_raises_naming_field() -> None:
    fields = {"Greeks": ("eventSymbol", "delta")}

    with pytest.raises(DxlinkParseError, match=r"Greeks\.delta.*'abc' is not numeric"):
        decode_feed_data(_frame(["Greeks", [".X250321C1", "abc"]]), fields)


def test_decode_feed_data_with_boolean_number_raises() -> None:
    with pytest.raises(DxlinkParseError, match=r"Greeks\.gamma"):
        decode_feed_data(_frame(["Greeks", [".X", True]]), {"Greeks": ("eventSymbol", "gamma")})


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (["Greeks"], "odd"),
        ([1, [1]], "event type name"),
        (["Greeks", "x"], "value array"),
        (["Greeks", [None, 0.5]], "eventSymbol is missing"),
    ],
)
def test_decode_feed_data_with_malformed_compact_shape_raises(
    data: list[object], match: str
) -> None:
    with pytest.raises(DxlinkParseError, match=match):
        decode_feed_data(_frame(data), {"Greeks": ("eventSymbol", "delta")})


def test_decode_feed_data_without_config_uses_setup_accept_fields() -> None:
    setup = parse_message(
        {
            "type": "FEED_SETUP",
            "channel": 3,
            "acceptDataFormat": "COMPACT",
            "acceptEventFields": {"Greeks": ["eventSymbol", "vega"]},
        }
    )
    assert isinstance(setup, FeedSetupMessage)
    fields = FeedFields().with_setup(setup)

    (event,) = decode_feed_data(_frame(["Greeks", [".X250321C1", 0.7]], channel=3), fields)

    assert isinstance(event, GreeksEvent)
    assert event.vega == 0.7


def test_decode_feed_data_with_config_prefers_config_over_setup() -> None:
    setup = FeedSetupMessage(channel=1, accept_event_fields={"Greeks": ("eventSymbol", "vega")})
    config = FeedConfigMessage(channel=1, event_fields={"Greeks": ("eventSymbol", "delta")})
    fields = FeedFields().with_setup(setup).with_config(config)

    (event,) = decode_feed_data(_frame(["Greeks", [".X250321C1", 0.7]]), fields)

    assert isinstance(event, GreeksEvent)
    assert (event.delta, event.vega) == (0.7, None)


def test_decode_feed_data_without_any_field_order_raises() -> None:
    with pytest.raises(DxlinkParseError, match="no FEED_CONFIG eventFields"):
        decode_feed_data(_frame(["Greeks", [".X", 1.0]]), FeedFields())


def test_encode_compact_with_missing_values_round_trips_through_decode() -> None:
    names = ("eventSymbol", "delta", "gamma", "price")
    rows = [{"eventSymbol": ".X250321C1", "delta": float("nan"), "gamma": 0.01, "price": None}]
    data = encode_compact("Greeks", names, rows)
    wire = json.dumps({"type": "FEED_DATA", "channel": 1, "data": data}, allow_nan=False)

    message = parse_message(wire)
    assert isinstance(message, FeedDataMessage)
    (event,) = decode_feed_data(message, {"Greeks": names})

    assert isinstance(event, GreeksEvent)
    assert (event.delta, event.gamma, event.price) == (None, 0.01, None)


HAND_WRITTEN = [
    (
        {
            "type": "SETUP",
            "channel": 0,
            "keepaliveTimeout": 60,
            "acceptKeepaliveTimeout": 60,
            "version": "0.1-js/1.0.0",
        },
        SetupMessage(version="0.1-js/1.0.0", keepalive_timeout=60.0, accept_keepalive_timeout=60.0),
    ),
    (
        {"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"},
        AuthStateMessage(AuthState.UNAUTHORIZED),
    ),
    ({"type": "AUTH", "channel": 0, "token": "token#123"}, AuthMessage("token#123")),
    (
        {
            "type": "CHANNEL_REQUEST",
            "channel": 1,
            "service": "FEED",
            "parameters": {"contract": "AUTO"},
        },
        ChannelRequestMessage(1, "FEED", {"contract": "AUTO"}),
    ),
    (
        {
            "type": "CHANNEL_OPENED",
            "channel": 1,
            "service": "FEED",
            "parameters": {"contract": "AUTO"},
        },
        ChannelOpenedMessage(1, "FEED", {"contract": "AUTO"}),
    ),
    ({"type": "CHANNEL_CANCEL", "channel": 1}, ChannelCancelMessage(1)),
    ({"type": "CHANNEL_CLOSED", "channel": 1}, ChannelClosedMessage(1)),
    (
        {
            "type": "FEED_SETUP",
            "channel": 1,
            "acceptAggregationPeriod": 0.1,
            "acceptDataFormat": "COMPACT",
            "acceptEventFields": {"Greeks": ["eventSymbol", "delta"]},
        },
        FeedSetupMessage(1, 0.1, DataFormat.COMPACT, {"Greeks": ("eventSymbol", "delta")}),
    ),
    (
        {
            "type": "FEED_CONFIG",
            "channel": 1,
            "aggregationPeriod": 0.1,
            "dataFormat": "COMPACT",
            "eventFields": {"Quote": ["eventSymbol", "bidPrice"]},
        },
        FeedConfigMessage(1, 0.1, DataFormat.COMPACT, {"Quote": ("eventSymbol", "bidPrice")}),
    ),
    (
        {
            "type": "FEED_SUBSCRIPTION",
            "channel": 1,
            "reset": True,
            "add": [{"type": "Greeks", "symbol": ".X"}],
            "remove": [{"type": "Quote", "symbol": "SPY"}],
        },
        FeedSubscriptionMessage(
            1,
            add=(FeedSubscription("Greeks", ".X"),),
            remove=(FeedSubscription("Quote", "SPY"),),
            reset=True,
        ),
    ),
    (
        {"type": "FEED_DATA", "channel": 1, "data": ["Greeks", [".X", 0.5]]},
        FeedDataMessage(1, ("Greeks", [".X", 0.5])),
    ),
    ({"type": "KEEPALIVE", "channel": 0}, KeepaliveMessage()),
    (
        {"type": "ERROR", "channel": 0, "error": "TIMEOUT", "message": "no message for 60 s"},
        ErrorMessage("TIMEOUT", "no message for 60 s"),
    ),
]


@pytest.mark.parametrize(
    ("wire", "expected"), HAND_WRITTEN, ids=[str(w["type"]) for w, _ in HAND_WRITTEN]
)
def test_parse_message_with_each_message_type_gives_typed_message_and_round_trips(
    wire: dict[str, object], expected: object
) -> None:
    message = parse_message(json.dumps(wire))

    assert message == expected
    assert message.to_wire() == wire


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "is not a JSON object"),
        ('{"channel": 0}', "'type' is None"),
        ('{"type": "KEEPALIVE"}', "channel"),
        ('{"type": "NOPE", "channel": 0}', "unknown message type 'NOPE'"),
        ('{"type": "AUTH", "channel": 0}', "field 'token' is missing"),
        ('{"type": "AUTH_STATE", "channel": 0, "state": "MAYBE"}', "not AUTHORIZED"),
        ('{"type": "FEED_SETUP", "channel": 1, "acceptDataFormat": "XML"}', "not FULL or COMPACT"),
        ('{"type": "FEED_CONFIG", "channel": 1, "eventFields": {"Greeks": []}}', "non-empty list"),
        (
            '{"type": "FEED_SUBSCRIPTION", "channel": 1, "add": [{"type": "Greeks"}]}',
            "'symbol' is missing",
        ),
        ('{"type": "FEED_DATA", "channel": 1, "data": {}}', "is not a list"),
    ],
)
def test_parse_message_with_malformed_frame_raises_naming_problem(text: str, match: str) -> None:
    with pytest.raises(DxlinkParseError, match=match):
        parse_message(text)


@pytest.mark.parametrize(
    ("streamer", "occ", "strike"),
    [
        (".SPY250321C580", "SPY   250321C00580000", Decimal("580")),
        (".SPXW250321P5800.5", "SPXW  250321P05800500", Decimal("5800.5")),
        (".AAPL1250117C150", "AAPL1 250117C00150000", Decimal("150")),
        (".SPLG230616C23", "SPLG  230616C00023000", Decimal("23")),
    ],
)
def test_streamer_symbol_with_occ_round_trips_both_ways(
    streamer: str, occ: str, strike: Decimal
) -> None:
    contract = streamer_symbol_to_contract(streamer)

    assert contract.strike == strike
    assert streamer_symbol_to_occ(streamer) == occ
    assert occ_to_streamer_symbol(occ) == streamer
    assert occ_to_streamer_symbol(occ.replace(" ", "")) == streamer
    assert contract_to_streamer_symbol(contract) == streamer


def test_streamer_symbol_to_contract_with_spy_gives_option_contract() -> None:
    contract = streamer_symbol_to_contract(".SPY250321C580")

    assert contract == OptionContract(
        underlying="SPY", expiry=date(2025, 3, 21), strike=Decimal("580"), right=OptionRight.CALL
    )


@pytest.mark.parametrize(
    ("symbol", "match"),
    [
        ("SPY250321C580", "does not match"),
        (".SPY250321X580", "does not match"),
        (".SPY250231C580", "is not a date"),
        (".SPY250321C0", "must be > 0"),
        (".SPY250321C1.0001", "more than 3 decimals"),
    ],
)
def test_streamer_symbol_to_contract_with_bad_symbol_raises(symbol: str, match: str) -> None:
    with pytest.raises(DxlinkParseError, match=match):
        streamer_symbol_to_contract(symbol)


def test_occ_to_streamer_symbol_with_bad_occ_raises() -> None:
    with pytest.raises(DxlinkParseError, match="OCC symbol"):
        occ_to_streamer_symbol("SPY 25")


def _position(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "account-number": "5WT00001",
        "symbol": "SPY   250321C00580000",
        "instrument-type": "Equity Option",
        "underlying-symbol": "SPY",
        "quantity": 3,
        "quantity-direction": "Short",
        "multiplier": 100,
        "streamer-symbol": ".SPY250321C580",
        "average-open-price": "4.25",
        "close-price": "4.10",
        "created-at": "2025-02-03T15:00:00.000Z",
        "updated-at": "2025-02-03T15:00:00.000+00:00",
    }
    item.update(overrides)
    return item


def test_parse_positions_with_option_and_equity_gives_typed_positions() -> None:
    payload = {
        "data": {
            "items": [
                _position(),
                _position(
                    symbol="AAPL",
                    **{"instrument-type": "Equity", "underlying-symbol": "AAPL", "quantity": "50"},
                    **{"quantity-direction": "Long", "multiplier": 1, "streamer-symbol": "AAPL"},
                ),
            ]
        }
    }

    option, equity = parse_positions(payload)

    assert option.signed_quantity == Decimal(-3)
    assert option.contract == streamer_symbol_to_contract(".SPY250321C580")
    assert option.average_open_price == Decimal("4.25")
    assert option.created_at == datetime(2025, 2, 3, 15, tzinfo=UTC)
    assert equity.contract is None
    assert equity.signed_quantity == Decimal(50)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"quantity": "x"}, r"positions\[0\]\.quantity"),
        ({"quantity-direction": "Sideways"}, "not Long, Short or Zero"),
        ({"symbol": "SPY 25"}, r"positions\[0\]\.symbol"),
        ({"created-at": "2025-02-03T15:00:00"}, "no UTC offset"),
        ({"account-number": None}, "'account-number' is null"),
    ],
)
def test_parse_positions_with_bad_item_raises_naming_field(
    overrides: dict[str, object], match: str
) -> None:
    with pytest.raises(DxlinkParseError, match=match):
        parse_positions([_position(**overrides)])


def test_parse_positions_without_items_envelope_raises() -> None:
    with pytest.raises(DxlinkParseError, match="expected"):
        parse_positions({"data": {}})
