"""What one service process holds: settings, database, identity, live plumbing, jobs, stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from riskdesk.config import Settings
from riskdesk.store import Database
from riskdesk.store.secrets import SecretBox

if TYPE_CHECKING:
    from riskdesk.identity import Identity
    from riskdesk.service.jobs import JobRunner
    from riskdesk.service.livecache import QuoteCache
    from riskdesk.service.pubsub import Hub
    from riskdesk.service.ratelimit import RateLimiter
    from riskdesk.streaming.manager import StreamManager

__all__ = ["ServiceState"]


@dataclass
class ServiceState:
    """The shared objects of one service process (``app.state.riskdesk``)."""

    settings: Settings
    db: Database
    identity: Identity
    cursor_secret: bytes
    box: SecretBox
    hub: Hub
    rate_limiter: RateLimiter
    quote_cache: QuoteCache
    jobs: JobRunner
    stream: StreamManager
    """The process's one in-process Greeks ingest (``/v1/stream``); tests replace it with a
    manager on a journal directory of their own."""
    extras: dict[str, object] = field(default_factory=dict)
    loop_token: object | None = None
    """The serving event loop (``anyio.lowlevel.current_token()``), set by the lifespan: lets
    any thread, a job's included, await async plumbing with ``anyio.from_thread.run``."""
