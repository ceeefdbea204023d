"""WebSockets under ``/v1/ws``: live market, job progress, and the user's event channel.

Authenticate with the access token as the ``access_token`` query parameter (browsers cannot
set headers on a WebSocket) or an ``Authorization: Bearer`` header. A missing or invalid token
closes the socket with code 4401; a job that is not yours with 4404. Messages are JSON
objects with a ``type``; the first one describes the current state (the latest quote, the
job as it stands) so a client never waits for the next change to draw something.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from riskdesk.domain.caller import Caller
from riskdesk.identity import AuthenticationError
from riskdesk.service.routes.jobs import JobOut
from riskdesk.service.state import ServiceState
from riskdesk.store.workbench import NotFoundError

__all__ = ["router"]

router = APIRouter(tags=["live"])

UNAUTHENTICATED = 4401
NOT_FOUND = 4404


async def _authenticate(websocket: WebSocket, state: ServiceState) -> Caller | None:
    token = websocket.query_params.get("access_token")
    header = websocket.headers.get("authorization", "")
    if token is None and header.lower().startswith("bearer "):
        token = header[7:].strip()
    if not token:
        await websocket.close(code=UNAUTHENTICATED, reason="access token required")
        return None
    client = websocket.client.host if websocket.client is not None else "unknown"
    try:
        return await anyio.to_thread.run_sync(
            lambda: state.identity.authenticate(
                token,
                ip_address=client,
                user_agent=websocket.headers.get("user-agent"),
            )
        )
    except AuthenticationError as exc:
        await websocket.close(code=UNAUTHENTICATED, reason=str(exc)[:120])
        return None


async def _pump(
    websocket: WebSocket,
    state: ServiceState,
    channels: list[str],
    current: Callable[[], Awaitable[dict[str, Any] | None]],
    *,
    until_finished: bool = False,
) -> None:
    """Forward hub messages on ``channels`` to the socket until either side ends.

    Subscribes first, then reads the current state (``current``): nothing that happens in
    between is missed.
    """
    async with state.hub.subscribe(*channels) as subscription:
        first = await current()
        if first is not None:
            try:
                await websocket.send_json(first)
            except (WebSocketDisconnect, RuntimeError):
                return  # the client left before the first message: nothing to forward
            if until_finished and first.get("finished"):
                await websocket.close()
                return

        async def forward(scope: anyio.CancelScope) -> None:
            try:
                async for _channel, message in subscription:
                    await websocket.send_json(message)
                    if until_finished and message.get("finished"):
                        await websocket.close()
                        break
            except (WebSocketDisconnect, RuntimeError):
                pass  # the client left mid-send: the pump ends like a normal close
            scope.cancel()

        await until_either_ends(websocket, forward)


async def until_either_ends(
    websocket: WebSocket, produce: Callable[[anyio.CancelScope], Coroutine[Any, Any, None]]
) -> None:
    """Run ``produce(scope)`` (it sends to the socket) until it or the client ends.

    The client's side is watched for its close (anything it sends is ignored); whichever
    ends first cancels the other through ``scope``.
    """

    async def watch_client(scope: anyio.CancelScope) -> None:
        try:
            while True:
                await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            pass
        scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(produce, group.cancel_scope)
        group.start_soon(watch_client, group.cancel_scope)


@router.websocket("/v1/ws/market/{symbol}")
async def market_ws(websocket: WebSocket, symbol: str) -> None:
    """Live market for ``symbol``: the latest quote, then every snapshot refresh."""
    state: ServiceState = websocket.app.state.riskdesk
    await websocket.accept()
    if await _authenticate(websocket, state) is None:
        return
    name = symbol.strip().upper()[:32]

    async def current() -> dict[str, Any] | None:
        cached = await state.quote_cache.get(name)
        return None if cached is None else {"type": "quote", **cached}

    await _pump(websocket, state, [f"market:{name}"], current)


@router.websocket("/v1/ws/jobs/{job_id}")
async def job_ws(websocket: WebSocket, job_id: str) -> None:
    """Progress of one of your jobs, until it finishes."""
    state: ServiceState = websocket.app.state.riskdesk
    await websocket.accept()
    caller = await _authenticate(websocket, state)
    if caller is None:
        return
    try:
        ident = uuid.UUID(job_id)
        await anyio.to_thread.run_sync(lambda: state.jobs.get(caller, ident))
    except (ValueError, NotFoundError):
        await websocket.close(code=NOT_FOUND, reason="no such job")
        return

    async def current() -> dict[str, Any]:
        view = await anyio.to_thread.run_sync(lambda: state.jobs.get(caller, ident))
        return view.event() | {"job": JobOut.from_view(view).model_dump(mode="json")}

    await _pump(websocket, state, [f"jobs:{ident}"], current, until_finished=True)


@router.websocket("/v1/ws/events")
async def events_ws(websocket: WebSocket) -> None:
    """Your events (jobs, and later signals, orders, positions, P&L) and system events."""
    state: ServiceState = websocket.app.state.riskdesk
    await websocket.accept()
    caller = await _authenticate(websocket, state)
    if caller is None:
        return
    channels = ["events"]
    if caller.user_id is not None:
        channels.append(f"user:{caller.user_id}")

    async def current() -> dict[str, Any]:
        return {"type": "hello", "channels": channels}

    await _pump(websocket, state, channels, current)
