"""The fake TWS on loopback, driven by an unmodified ``ib_async`` IB client."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ib_async import IB, Option

from riskdesk.adapters.ibkr.fake import SERVER_VERSION, FakeTwsBroker
from riskdesk.adapters.ibkr.parsing import computation_values, raw_computation_values

ACCOUNT = "DU000001"
FIELDS = ("impliedVol", "delta", "optPrice", "pvDividend", "gamma", "vega", "theta", "undPrice")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[FakeTwsBroker]:
    fake = FakeTwsBroker(rate=1000, seed=3, account=ACCOUNT, sent_log=tmp_path / "sent.jsonl")
    fake.start()
    yield fake
    fake.stop()


def _sent(broker: FakeTwsBroker) -> list[dict[str, Any]]:
    assert broker.sent_log is not None
    lines = broker.sent_log.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_fake_tws_with_ib_async_client_syncs_accounts_and_positions(
    broker: FakeTwsBroker,
) -> None:
    async def scenario() -> tuple[list[str], dict[int, float], int]:
        ib = IB()
        # readonly=False: open orders, completed orders, account updates and executions too
        await ib.connectAsync("127.0.0.1", broker.bound_port, clientId=3, timeout=5)
        try:
            positions = {p.contract.conId: p.position for p in ib.positions(ACCOUNT)}
            return ib.managedAccounts(), positions, len(ib.portfolio(ACCOUNT))
        finally:
            ib.disconnect()

    accounts, positions, portfolio_items = asyncio.run(scenario())
    assert broker.address == f"tws://127.0.0.1:{broker.bound_port}"
    assert accounts == [ACCOUNT]
    assert positions == {p.con_id: float(p.quantity) for p in broker.positions}
    assert portfolio_items == len(broker.positions) == 12
    assert broker.connection_count == 1


def test_fake_tws_with_model_greeks_subscription_streams_the_logged_computations(
    broker: FakeTwsBroker,
) -> None:
    target = broker.positions[0]
    seen: list[Any] = []

    async def scenario() -> tuple[int, int]:
        ib = IB()
        await ib.connectAsync("127.0.0.1", broker.bound_port, clientId=4, readonly=True, timeout=5)
        try:
            (position,) = [p for p in ib.positions() if p.contract.conId == target.con_id]
            contract = position.contract
            contract.exchange = "SMART"
            ticker = ib.reqMktData(contract)
            ticker.updateEvent += lambda t: seen.append(t.modelGreeks)
            for _ in range(200):
                await asyncio.sleep(0.02)
                if len(seen) >= 20:
                    break
            assert ib.cancelMktData(contract)
            await asyncio.sleep(0.1)
            after_cancel = broker.sent_count
            await asyncio.sleep(0.2)
            return after_cancel, broker.sent_count
        finally:
            ib.disconnect()

    after_cancel, later = asyncio.run(scenario())
    assert later == after_cancel, "computations kept coming after cancelMktData"
    sent = _sent(broker)
    assert sent, "the broker logged nothing"
    assert {r["conId"] for r in sent} == {target.con_id}
    assert all(r["tickType"] == 13 and r["symbol"] == target.occ_symbol for r in sent)
    assert [r["seq"] for r in sent] == list(range(1, len(sent) + 1))
    # the ticker holds the last computation sent, read through ib_async's decoder
    last = sent[-1]["values"]
    assert computation_values(seen[-1]) == raw_computation_values(*(last[f] for f in FIELDS))


def test_fake_tws_with_same_seed_repeats_positions_and_computations(tmp_path: Path) -> None:
    logs = []
    for run in range(2):
        log = tmp_path / f"run{run}.jsonl"
        with FakeTwsBroker(rate=2000, seed=11, sent_log=log, late_s=0.02) as fake:

            async def scenario(fake: FakeTwsBroker = fake) -> None:
                ib = IB()
                await ib.connectAsync("127.0.0.1", fake.bound_port, clientId=1, readonly=True)
                try:
                    for p in fake.positions:
                        ib.reqMktData(Option(conId=p.con_id, exchange="SMART"))
                    while fake.sent_count < 600:
                        await asyncio.sleep(0.02)
                finally:
                    ib.disconnect()

            asyncio.run(scenario())
            logs.append(
                {
                    (r["conId"], n): (r["variant"], r["values"])
                    for n, r in enumerate(json.loads(line) for line in log.read_text().splitlines())
                }
            )
            positions = [(p.key, p.quantity, p.con_id, p.late) for p in fake.positions]
        assert positions == [
            (p.key, p.quantity, p.con_id, p.late) for p in FakeTwsBroker(seed=11).positions
        ]
    per_contract = [
        {
            con_id: [v for (c, _), v in sorted(log.items(), key=lambda kv: kv[0][1]) if c == con_id]
            for con_id in {c for c, _ in log}
        }
        for log in logs
    ]
    for con_id in per_contract[0]:
        first, second = per_contract[0][con_id], per_contract[1].get(con_id, [])
        n = min(len(first), len(second))
        assert n > 0
        assert first[:n] == second[:n]
    variants = {v[0] for log in logs for v in log.values()}
    assert variants == {"full", "partial", "empty"}
    assert FakeTwsBroker(seed=12).positions != FakeTwsBroker(seed=11).positions


def test_fake_tws_with_unknown_contract_answers_error_200(broker: FakeTwsBroker) -> None:
    errors: list[tuple[int, int, str]] = []

    async def scenario() -> None:
        ib = IB()
        await ib.connectAsync("127.0.0.1", broker.bound_port, clientId=5, readonly=True)
        try:
            ib.errorEvent += lambda req_id, code, text, contract: errors.append(
                (req_id, code, text)
            )
            ib.reqMktData(Option(conId=999, exchange="SMART"))
            for _ in range(100):
                await asyncio.sleep(0.02)
                if errors:
                    break
        finally:
            ib.disconnect()

    asyncio.run(scenario())
    assert [code for _, code, _ in errors] == [200]
    assert "No security definition" in errors[0][2]
    assert broker.sent_count == 0


def _handshake(port: int, versions: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"API\0" + struct.pack(">I", len(versions)) + versions)
        chunks: list[bytes] = []
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            if len(b"".join(chunks)) >= 8:
                return b"".join(chunks)


def test_fake_tws_with_version_range_outside_its_version_closes_the_socket(
    broker: FakeTwsBroker,
) -> None:
    assert _handshake(broker.bound_port, b"v100..150") == b""
    answer = _handshake(broker.bound_port, b"v157..178")
    assert answer[4:].split(b"\0")[0] == str(SERVER_VERSION).encode()


def test_fake_tws_with_drop_and_pause_closes_connections_and_holds_the_stream(
    broker: FakeTwsBroker,
) -> None:
    async def scenario() -> tuple[int, int, int, bool]:
        ib = IB()
        await ib.connectAsync("127.0.0.1", broker.bound_port, clientId=6, readonly=True)
        for p in broker.positions:
            ib.reqMktData(Option(conId=p.con_id, exchange="SMART"))
        await asyncio.sleep(0.3)
        broker.pause(0.4)
        await asyncio.sleep(0.05)
        paused_from = broker.sent_count
        await asyncio.sleep(0.25)
        paused_to = broker.sent_count
        dropped = await asyncio.to_thread(broker.drop_connections)
        await asyncio.sleep(0.1)
        return paused_from, paused_to, dropped, ib.isConnected()

    paused_from, paused_to, dropped, connected = asyncio.run(scenario())
    assert paused_from == paused_to > 0
    assert dropped == 1
    assert not connected
    assert broker.open_connections == 0
