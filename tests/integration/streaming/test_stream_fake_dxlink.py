"""The fake tastytrade broker on loopback: REST endpoints and the DXLink WebSocket protocol."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from riskdesk.adapters.tastytrade.fake import FakeDxlinkBroker
from riskdesk.adapters.tastytrade.parsing import (
    DEFAULT_EVENT_FIELDS,
    AuthStateMessage,
    ChannelOpenedMessage,
    ErrorMessage,
    FeedConfigMessage,
    FeedDataMessage,
    FeedFields,
    GreeksEvent,
    QuoteEvent,
    SetupMessage,
    decode_feed_data,
    parse_message,
    parse_positions,
)

RECEIVE_TIMEOUT = 5.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeDxlinkBroker]:
    log = tmp_path_factory.mktemp("fake_dxlink") / "sent.jsonl"
    fake = FakeDxlinkBroker(rate=2000, seed=3, sent_log=log, keepalive_timeout=5.0)
    fake.start()
    yield fake
    fake.stop()


def _login(client: httpx.Client) -> dict[str, str]:
    response = client.post("/sessions", json={"login": "trader", "password": "secret"})
    assert response.status_code == 201
    return {"Authorization": response.json()["data"]["session-token"]}


async def _recv(ws: ClientConnection) -> Any:
    return parse_message(await asyncio.wait_for(ws.recv(), RECEIVE_TIMEOUT))


async def _drain(ws: ClientConnection, fields: FeedFields) -> list[Any]:
    """Every event still arriving until the server closes the connection."""
    events: list[Any] = []
    try:
        while True:
            message = parse_message(await asyncio.wait_for(ws.recv(), RECEIVE_TIMEOUT))
            if isinstance(message, FeedDataMessage):
                events.extend(decode_feed_data(message, fields))
    except ConnectionClosed:
        return events


async def _handshake(ws: ClientConnection, token: str) -> None:
    setup = {"type": "SETUP", "channel": 0, "keepaliveTimeout": 60, "version": "0.1-test/1"}
    await ws.send(json.dumps(setup))
    assert isinstance(await _recv(ws), SetupMessage)
    assert (await _recv(ws)) == parse_message(
        {"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"}
    )
    await ws.send(json.dumps({"type": "AUTH", "channel": 0, "token": token}))
    state = await _recv(ws)
    assert isinstance(state, AuthStateMessage)
    assert state.state == "AUTHORIZED"


def test_fake_rest_with_session_token_serves_accounts_positions_and_quote_token(
    broker: FakeDxlinkBroker,
) -> None:
    with httpx.Client(base_url=broker.url) as client:
        headers = _login(client)
        accounts = client.get("/customers/me/accounts", headers=headers).json()
        positions = client.get(f"/accounts/{broker.account}/positions", headers=headers).json()
        token = client.get("/api-quote-tokens", headers=headers).json()["data"]

    assert accounts["data"]["items"][0]["account"]["account-number"] == "5WT00001"
    parsed = parse_positions(positions)
    assert len(parsed) == 12
    assert {p.underlying_symbol for p in parsed} == {"SPY", "QQQ", "AAPL"}
    assert [p.streamer_symbol for p in parsed] == [p.streamer_symbol for p in broker.positions]
    assert all(p.contract is not None for p in parsed)
    assert token["dxlink-url"] == broker.dxlink_url
    assert token["token"]


def test_fake_rest_without_session_token_answers_401(broker: FakeDxlinkBroker) -> None:
    with httpx.Client(base_url=broker.url) as client:
        no_token = client.get(f"/accounts/{broker.account}/positions")
        bad_token = client.get("/api-quote-tokens", headers={"Authorization": "nope"})
        bad_login = client.post("/sessions", json={"login": "trader"})

    assert (no_token.status_code, bad_token.status_code, bad_login.status_code) == (401, 401, 401)


def test_fake_dxlink_with_full_handshake_streams_greeks_matching_sent_log(
    broker: FakeDxlinkBroker,
) -> None:
    with httpx.Client(base_url=broker.url) as client:
        headers = _login(client)
        token = client.get("/api-quote-tokens", headers=headers).json()["data"]["token"]
    symbols = [p.streamer_symbol for p in broker.positions]
    assert broker.sent_log is not None
    already_logged = (
        len(broker.sent_log.read_text().splitlines()) if broker.sent_log.exists() else 0
    )

    async def session() -> tuple[list[GreeksEvent | QuoteEvent], int | None]:
        events: list[Any] = []
        async with connect(broker.dxlink_url) as ws:
            await _handshake(ws, token)
            await ws.send(
                json.dumps(
                    {
                        "type": "CHANNEL_REQUEST",
                        "channel": 1,
                        "service": "FEED",
                        "parameters": {"contract": "AUTO"},
                    }
                )
            )
            assert isinstance(await _recv(ws), ChannelOpenedMessage)
            accept = {
                "Greeks": list(DEFAULT_EVENT_FIELDS["Greeks"]),
                "Quote": ["eventSymbol", "eventTime", "bidPrice", "askPrice"],
            }
            await ws.send(
                json.dumps(
                    {
                        "type": "FEED_SETUP",
                        "channel": 1,
                        "acceptAggregationPeriod": 0.1,
                        "acceptDataFormat": "COMPACT",
                        "acceptEventFields": accept,
                    }
                )
            )
            config = await _recv(ws)
            assert isinstance(config, FeedConfigMessage)
            assert config.event_fields is not None
            assert config.event_fields["Quote"] == (
                "eventSymbol",
                "eventTime",
                "bidPrice",
                "askPrice",
            )
            fields = FeedFields().with_config(config)
            add = [{"type": "Greeks", "symbol": s} for s in symbols] + [
                {"type": "Quote", "symbol": "SPY"}
            ]
            await ws.send(json.dumps({"type": "FEED_SUBSCRIPTION", "channel": 1, "add": add}))
            frames = 0
            while len(events) < 300:
                message = await _recv(ws)
                if isinstance(message, FeedDataMessage):
                    frames += 1
                    events.extend(decode_feed_data(message, fields))
            assert frames < len(events)  # several events per frame
            dropped = await asyncio.to_thread(broker.drop_connections)
            assert dropped == 1
            events.extend(await _drain(ws, fields))
            close_code = ws.close_code
        return events, close_code

    events, close_code = asyncio.run(session())

    assert close_code == 1012
    sent = [json.loads(line) for line in broker.sent_log.read_text().splitlines()[already_logged:]]
    assert len(sent) == len(events)
    by_key = {(r["type"], r["symbol"], r["eventTime"]): r for r in sent}
    assert len(by_key) == len(sent)  # (type, symbol, eventTime) identifies an event
    received = {(e.event_type, e.event_symbol, e.event_time): e for e in events}
    assert received.keys() == by_key.keys()
    greeks = [e for e in events if isinstance(e, GreeksEvent)]
    assert {e.event_symbol for e in greeks} == set(symbols)
    for event in greeks:
        values = by_key[("Greeks", event.event_symbol, event.event_time)]["values"]
        assert event.delta == values["delta"]
        assert event.vega == values["vega"]
        assert event.price is not None
    quotes = [e for e in events if isinstance(e, QuoteEvent)]
    assert quotes
    assert all(
        q.bid_price is not None and q.ask_price is not None and q.bid_price < q.ask_price
        for q in quotes
    )
    seqs = [r["seq"] for r in sent]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    per_symbol: dict[str, list[int]] = {}
    for received_event in events:
        assert received_event.event_time is not None
        per_symbol.setdefault(received_event.event_symbol, []).append(received_event.event_time)
    assert all(times == sorted(set(times)) for times in per_symbol.values())


def test_fake_dxlink_with_unknown_quote_token_closes_unauthorized(broker: FakeDxlinkBroker) -> None:
    async def session() -> tuple[ErrorMessage, int | None]:
        async with connect(broker.dxlink_url) as ws:
            await ws.send(json.dumps({"type": "SETUP", "channel": 0, "version": "0.1-test/1"}))
            await _recv(ws)
            await _recv(ws)
            await ws.send(json.dumps({"type": "AUTH", "channel": 0, "token": "forged"}))
            messages = [await _recv(ws), await _recv(ws)]
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), RECEIVE_TIMEOUT)
            error = messages[1]
            assert isinstance(error, ErrorMessage)
            return error, ws.close_code

    error, code = asyncio.run(session())

    assert error.error == "UNAUTHORIZED"
    assert code == 1008


def test_fake_dxlink_with_feed_message_before_auth_answers_error(broker: FakeDxlinkBroker) -> None:
    async def session() -> ErrorMessage:
        async with connect(broker.dxlink_url) as ws:
            await ws.send(json.dumps({"type": "SETUP", "channel": 0, "version": "0.1-test/1"}))
            await _recv(ws)
            await _recv(ws)
            await ws.send(json.dumps({"type": "CHANNEL_REQUEST", "channel": 1, "service": "FEED"}))
            error = await _recv(ws)
            assert isinstance(error, ErrorMessage)
            return error

    assert asyncio.run(session()).error == "UNAUTHORIZED"


def test_fake_dxlink_with_silent_client_closes_after_keepalive_timeout(tmp_path: Path) -> None:
    with FakeDxlinkBroker(rate=0, seed=3, keepalive_timeout=0.3) as fake:
        with httpx.Client(base_url=fake.url) as client:
            headers = _login(client)
            token = client.get("/api-quote-tokens", headers=headers).json()["data"]["token"]

        async def session() -> ErrorMessage:
            async with connect(fake.dxlink_url) as ws:
                await _handshake(ws, token)
                error = await _recv(ws)  # nothing sent by the client: the server times out
                assert isinstance(error, ErrorMessage)
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), RECEIVE_TIMEOUT)
                return error

        error = asyncio.run(session())

    assert error.error == "TIMEOUT"
