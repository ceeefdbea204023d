"""The service's in-process Greeks stream over HTTP and a WebSocket.

The routes translate between HTTP and the process's
:class:`~riskdesk.streaming.manager.StreamManager` (``state.stream``):

* ``POST /v1/stream/start`` -- start one ingest of the given sources (traders and admins):
  201 with the status; 409 ``CONFLICT`` while one runs or when the journal directory is held
  by another process (a ``riskdesk stream start`` on the same directory); 422 for a bad
  source spec, naming the field;
* ``POST /v1/stream/stop`` -- stop it and drain the writer (traders and admins): 200 with the
  final counts and ``drained``; 409 when none runs;
* ``GET /v1/stream/status`` -- the live status while running, else the last run's final
  status and the latest ``stream_sessions`` rows (any logged-in caller);
* ``GET /v1/stream/latest`` -- the newest Greeks of each contract: the running ingest's
  in-memory view, else the stored latest events (any logged-in caller);
* ``WS /v1/ws/stream`` -- about once a second a ``status`` message (as the status route) and a
  ``greeks`` message with the latest rows that changed since the previous push (every row in
  the first one). Authentication as every WebSocket of :mod:`riskdesk.service.routes.ws`
  (``access_token`` query parameter or bearer header; 4401 without a valid token).

Stream state is the desk's, not a user's: one stream per service process, which any trader
may stop. Counters are numbers, decimals (strike, quantity) strings, times ISO 8601 UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

import anyio
from fastapi import APIRouter, Query, WebSocket
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocketDisconnect

from riskdesk.service.deps import State, TraderCaller, ViewerCaller
from riskdesk.service.problems import ErrorCode, FieldError, ProblemError, problem_responses
from riskdesk.service.routes.ws import _authenticate, until_either_ends
from riskdesk.service.state import ServiceState
from riskdesk.streaming.manager import StreamStartError, StreamStateError
from riskdesk.streaming.queries import LATEST_LIMIT, MAX_LATEST_LIMIT
from riskdesk.streaming.sources import SourceSpec

__all__ = ["PUSH_INTERVAL", "parse_source_spec", "router"]

router = APIRouter(tags=["stream"])

PUSH_INTERVAL: Final = 1.0
"""Seconds between two pushes of ``/v1/ws/stream``."""

_READ = problem_responses(401, 403, 422)
_START = problem_responses(401, 403, 409, 422)
_STOP = problem_responses(401, 403, 409)
_MAX_SOURCES = 16

_EXAMPLE_SPEC: dict[str, Any] = {
    "broker": "simulated",
    "account": "SIM00001",
    "seed": 7,
    "rate": 50.0,
}


class StreamStartIn(BaseModel):
    """The sources of one stream: each a source spec (``broker`` and its options)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"sources": [_EXAMPLE_SPEC]},
                {
                    "sources": [
                        {
                            "broker": "tastytrade",
                            "account": "5WT00001",
                            "url": "http://127.0.0.1:8765",
                            "credentials": "tastytrade-demo",
                        }
                    ]
                },
            ]
        },
    )

    sources: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=_MAX_SOURCES,
        description="Source specs: broker (simulated, tastytrade, ibkr), account, url, "
        "credentials (the name of a stored secret, never the secret), seed, rate.",
    )

    def specs(self) -> list[SourceSpec]:
        """The parsed specs; a 422 naming ``body.sources.<i>`` and the field otherwise."""
        return [
            parse_source_spec(data, where=f"body.sources.{index}")
            for index, data in enumerate(self.sources)
        ]


def parse_source_spec(data: Mapping[str, Any], *, where: str) -> SourceSpec:
    """``data`` as a :class:`SourceSpec`, or a 422 problem naming ``where`` and the field.

    The one place a request's broker spec is checked (``/v1/stream/start`` and the broker
    routes of :mod:`riskdesk.service.routes.brokers`): the broker, the account, the url (a
    tastytrade url only over TLS to tastytrade or to loopback, since stored credentials go
    there) and the credentials' name.
    """
    try:
        return SourceSpec.from_dict(data)
    except (ValueError, TypeError) as exc:
        raise ProblemError(
            422,
            ErrorCode.VALIDATION_ERROR,
            f"{where}: {exc}",
            errors=[FieldError(field=where, rule="source_spec", message=str(exc))],
        ) from exc


class StreamStatusOut(BaseModel):
    """The stream's state: live while running, else the last run and the stored sessions."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "running": False,
                    "journal_dir": "/var/lib/riskdesk/stream-journal",
                    "sources": [],
                    "status": None,
                    "latest_sessions": [],
                    "sessions_error": None,
                }
            ]
        }
    )

    running: bool
    journal_dir: str
    sources: list[dict[str, Any]] = Field(description="Specs of the running or last stream.")
    status: dict[str, Any] | None = Field(
        description="The ingest's status (sessions with their metrics, totals, writer, "
        "latency) while running; the last run's final status otherwise (None before any)."
    )
    latest_sessions: list[dict[str, Any]] | None = Field(
        description="The newest stream_sessions rows when no stream runs (None while one does)."
    )
    sessions_error: str | None = None


class StreamStopOut(BaseModel):
    """The final counts of a stopped stream."""

    drained: bool = Field(
        description="True when every journaled record was stored; otherwise the rest stays in "
        "the journal and the next start stores it."
    )
    journal_depth: int = Field(description="Records still in the journal, not stored.")
    totals: dict[str, int] = Field(
        description="received, journaled, persisted, deduped and rejected_total."
    )
    status: dict[str, Any] = Field(description="The ingest's final status.")


class StreamGreekOut(BaseModel):
    """The newest Greeks of one contract (live: maybe journaled, not yet stored)."""

    broker: str
    account_id: str
    underlying: str
    contract_key: str
    expiration: str | None
    strike: str | None
    option_type: str | None
    quantity: str | None
    delta: float | None
    gamma: float | None
    theta: float | None
    vega: float | None
    rho: float | None
    implied_volatility: float | None
    underlying_price: float | None
    event_time: str
    received_at: str


class StreamLatestOut(BaseModel):
    """The newest Greeks of each contract, by broker, account and contract key."""

    source: Literal["live", "stored"] = Field(
        description="live: the running stream's in-memory view; stored: the database's."
    )
    items: list[StreamGreekOut]
    truncated: bool
    limit: int


def _conflict(exc: Exception) -> ProblemError:
    return ProblemError(409, ErrorCode.CONFLICT, str(exc))


@router.post(
    "/v1/stream/start",
    response_model=StreamStatusOut,
    status_code=201,
    responses=_START,
)
def start_stream(state: State, caller: TraderCaller, body: StreamStartIn) -> dict[str, Any]:
    """Start streaming the sources into the journal and the database (traders and admins)."""
    specs = body.specs()
    try:
        return state.stream.start(specs)
    except (StreamStateError, StreamStartError) as exc:
        raise _conflict(exc) from exc


@router.post("/v1/stream/stop", response_model=StreamStopOut, responses=_STOP)
def stop_stream(state: State, caller: TraderCaller) -> dict[str, Any]:
    """Stop the stream and store everything it journaled (traders and admins)."""
    try:
        return state.stream.stop()
    except StreamStateError as exc:
        raise _conflict(exc) from exc


@router.get("/v1/stream/status", response_model=StreamStatusOut, responses=_READ)
def stream_status(state: State, caller: ViewerCaller) -> dict[str, Any]:
    """The running stream's live status, or the last run and the stored sessions."""
    return state.stream.status()


@router.get("/v1/stream/latest", response_model=StreamLatestOut, responses=_READ)
def stream_latest(
    state: State,
    caller: ViewerCaller,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LATEST_LIMIT, description="Most contracts returned.")
    ] = LATEST_LIMIT,
) -> dict[str, Any]:
    """The newest Greeks of each contract (live while streaming, else stored)."""
    return state.stream.latest(limit, caller=caller) | {"limit": limit}


def _key(item: dict[str, Any]) -> tuple[str, str, str]:
    return (item["broker"], item["account_id"], item["contract_key"])


@router.websocket("/v1/ws/stream")
async def stream_ws(websocket: WebSocket) -> None:
    """The stream live: a ``status`` then a ``greeks`` message about once a second.

    ``greeks`` carries ``source`` (live or stored) and the rows that changed since the
    previous push (all of them in the first push).
    """
    state: ServiceState = websocket.app.state.riskdesk
    await websocket.accept()
    caller = await _authenticate(websocket, state)
    if caller is None:
        return
    sent: dict[tuple[str, str, str], dict[str, Any]] = {}

    async def push(scope: anyio.CancelScope) -> None:
        first = True
        while True:
            status = await anyio.to_thread.run_sync(state.stream.status)
            latest = await anyio.to_thread.run_sync(
                lambda: state.stream.latest(MAX_LATEST_LIMIT, caller=caller)
            )
            changed = [item for item in latest["items"] if sent.get(_key(item)) != item]
            for item in changed:
                sent[_key(item)] = item
            try:
                await websocket.send_json({"type": "status", **status})
                await websocket.send_json(
                    {
                        "type": "greeks",
                        "source": latest["source"],
                        "full": first,
                        "items": changed,
                    }
                )
            except (WebSocketDisconnect, RuntimeError):
                break
            first = False
            await anyio.sleep(PUSH_INTERVAL)
        scope.cancel()

    await until_either_ends(websocket, push)
