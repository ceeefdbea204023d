"""The riskdesk service: one FastAPI application under ``/v1`` (``riskdesk serve``).

:func:`create_app` wires the pieces; routes live in :mod:`riskdesk.service.routes` and only
translate between HTTP and the use cases (:class:`riskdesk.workbench.Workbench`,
:class:`riskdesk.identity.Identity`, later the risk, trading and streaming use cases).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.lowlevel
import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from riskdesk import __version__
from riskdesk.config import Settings, default_data_dir, get_settings
from riskdesk.identity import Identity, TokenService, load_signing_key
from riskdesk.service.idempotency import IdempotencyMiddleware
from riskdesk.service.jobs import JobRunner
from riskdesk.service.livecache import make_quote_cache
from riskdesk.service.middleware import (
    BodyLimitMiddleware,
    RateLimitMiddleware,
    RequestContextMiddleware,
    bearer_user_key,
)
from riskdesk.service.problems import install_problem_handlers
from riskdesk.service.pubsub import make_hub
from riskdesk.service.ratelimit import make_rate_limiter
from riskdesk.service.routes import (
    analytics,
    auth,
    batch,
    brokers,
    configs,
    cycle,
    greeks,
    health,
    jobs,
    market,
    market_risk,
    modeling,
    portfolios,
    signals,
    snapshots,
    stream,
    system,
    trades,
    trading,
    users,
    ws,
)
from riskdesk.service.routes.web import mount_web
from riskdesk.service.state import ServiceState
from riskdesk.store import Database
from riskdesk.store.secrets import secret_box_from_settings
from riskdesk.streaming.manager import StreamManager

__all__ = ["STREAM_JOURNAL_DIR_NAME", "app_from_env", "build_state", "create_app"]

log = logging.getLogger("riskdesk.service")

STREAM_JOURNAL_DIR_NAME = "stream-journal"
"""The service's stream journal: ``<data dir>/stream-journal`` (as ``riskdesk stream start``)."""

DESCRIPTION = """\
riskdesk's HTTP API. Authenticate with `POST /v1/auth/login`, then send
`Authorization: Bearer <access_token>`. Errors are RFC 9457 problem documents with a stable
`code`; lists are cursor-paginated (`limit`, `cursor`, newest first); mutating requests accept
an `Idempotency-Key` header. Decimals travel as strings, timestamps as ISO-8601 UTC.
"""

TAGS: list[dict[str, Any]] = [
    {"name": "health", "description": "Liveness and readiness."},
    {"name": "auth", "description": "Login, token refresh, logout."},
    {"name": "users", "description": "User management (admin)."},
    {"name": "market", "description": "Symbols, option chains and quotes."},
    {"name": "snapshots", "description": "Market snapshots: create, refresh, pin."},
    {"name": "trades", "description": "Trade drafts, legs and committed versions."},
    {"name": "configs", "description": "Model configs and scenario grids."},
    {"name": "analytics", "description": "Evaluate, compare, attribute."},
    {"name": "portfolios", "description": "Portfolios, book upload and their risk measures."},
    {
        "name": "trading",
        "description": "Paper trading: accounts, risk policy, orders, fills, positions, NAV, "
        "kill switch.",
    },
    {
        "name": "greeks",
        "description": "Streamed broker Greeks (latest, history) and the trade log.",
    },
    {
        "name": "stream",
        "description": "The in-process broker Greeks stream: start, stop, status, latest.",
    },
    {"name": "jobs", "description": "Long-running work."},
    {"name": "system", "description": "System config and the audit log (admin)."},
]


def build_state(settings: Settings, db: Database) -> ServiceState:
    """The service state on ``db``: identity keys, realtime plumbing and the job runner."""
    box = secret_box_from_settings(settings)
    signing_key = load_signing_key(db, box)
    tokens = TokenService(signing_key, access_minutes=settings.access_token_minutes)
    hub = make_hub(settings.redis_url)
    return ServiceState(
        settings=settings,
        db=db,
        identity=Identity(db, tokens, refresh_days=settings.refresh_token_days),
        cursor_secret=hmac.new(signing_key, b"riskdesk cursor", hashlib.sha256).digest(),
        box=box,
        hub=hub,
        rate_limiter=make_rate_limiter(settings.redis_url),
        quote_cache=make_quote_cache(settings.redis_url),
        jobs=JobRunner(db, hub),
        stream=StreamManager(db, journal_dir=default_data_dir() / STREAM_JOURNAL_DIR_NAME),
    )


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """The service application on ``db`` (default: ``settings.database_url``, migrated)."""
    settings = settings or get_settings()
    owns_db = db is None
    database = db if db is not None else Database.from_settings(settings, create=False)
    state = build_state(settings, database)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # a hub belongs to one event loop: a fresh one per served lifetime
        state.hub = make_hub(settings.redis_url)
        state.jobs.hub = state.hub
        state.loop_token = anyio.lowlevel.current_token()
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.service_threads
        await state.hub.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(state.stream.close)
            state.jobs.shutdown(wait=True)
            await state.hub.close()
            await state.rate_limiter.close()
            await state.quote_cache.close()
            if owns_db:
                database.dispose()

    app = FastAPI(
        title="riskdesk",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.riskdesk = state
    install_problem_handlers(app)
    for module in (
        health,
        auth,
        users,
        market,
        snapshots,
        trades,
        configs,
        analytics,
        portfolios,
        market_risk,
        modeling,
        trading,
        signals,
        cycle,
        greeks,
        stream,
        brokers,
        batch,
        jobs,
        system,
        ws,
    ):
        app.include_router(module.router)
    mount_web(app)

    def state_of() -> ServiceState:
        return state

    user_key = bearer_user_key(state_of)
    # added innermost first: requests pass RequestContext -> CORS -> BodyLimit -> RateLimit ->
    # Idempotency -> routes
    app.add_middleware(IdempotencyMiddleware, state_of=state_of, user_of=user_key)
    app.add_middleware(RateLimitMiddleware, state_of=state_of, user_key=user_key)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
            expose_headers=["X-Request-Id", "Retry-After", "ETag"],
        )
    app.add_middleware(RequestContextMiddleware)
    return app


def app_from_env() -> FastAPI:
    """The app uvicorn workers build (``riskdesk serve --workers N``): settings from the env."""
    return create_app(get_settings())
