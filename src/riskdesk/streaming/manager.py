"""One in-process stream ingest a long-lived process (the service) starts, watches and stops.

:class:`StreamManager` holds at most one running :class:`~riskdesk.streaming.ingest.Ingestor`
at a time, built from :class:`~riskdesk.streaming.sources.SourceSpec` values:

* :meth:`StreamManager.start` builds the sources (``source_factory``, by default
  :func:`~riskdesk.streaming.sources.build_source`) and starts an ingest into the journal
  directory; it refuses with :class:`StreamStateError` while one is running and with
  :class:`StreamStartError` when the journal directory is held by another process (the
  :class:`~riskdesk.streaming.journal.Journal` lock) or cannot be opened;
* :meth:`StreamManager.stop` stops the sources and drains the writer, and reports whether
  every journaled record was stored (what is not stays in the journal for the next start);
* :meth:`StreamManager.status` is the ingest's live status while it runs, otherwise the last
  run's final status and the latest ``stream_sessions`` rows;
* :meth:`StreamManager.latest` is the ingest's in-memory latest view while it runs (records
  journaled but maybe not stored yet), otherwise the newest stored event of each contract
  (:class:`~riskdesk.streaming.queries.GreeksQueries`);
* :meth:`StreamManager.close` stops a running ingest (process shutdown).

Every method is thread-safe: :meth:`start`, :meth:`stop` and :meth:`close` run one at a time
(a start waits for a stop in progress, then sees nothing running); :meth:`status` and
:meth:`latest` never wait for them.

Items of :meth:`latest` have one shape whichever the origin: ``broker``, ``account_id``,
``underlying``, ``contract_key``, ``expiration`` (ISO date), ``strike`` and ``quantity``
(decimal strings), ``option_type``, the Greeks, ``implied_volatility`` and
``underlying_price`` (floats or None), ``event_time`` and ``received_at`` (ISO 8601 UTC).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Protocol

import sqlalchemy as sa

from riskdesk.domain.caller import Caller
from riskdesk.secrets import SecretNotFoundError, SecretsError, SecretStore
from riskdesk.store.database import Database
from riskdesk.store.errors import StoreError
from riskdesk.streaming.ingest import Ingestor, latest_sessions
from riskdesk.streaming.journal import JournalError
from riskdesk.streaming.queries import LATEST_LIMIT, MAX_LATEST_LIMIT, GreekFilter, GreeksQueries
from riskdesk.streaming.records import ROW_COLUMNS, UnifiedPositionRecord
from riskdesk.streaming.source import TickSource
from riskdesk.streaming.sources import SourceSpec, SourceUnavailableError, build_source

__all__ = [
    "DEFAULT_STOP_TIMEOUT",
    "LATEST_ITEM_KEYS",
    "SourceFactory",
    "StreamManager",
    "StreamStartError",
    "StreamStateError",
]

log = logging.getLogger(__name__)

DEFAULT_STOP_TIMEOUT: Final = 30.0
"""Seconds :meth:`StreamManager.stop` gives the writer to store what is journaled."""

SESSION_ROWS: Final = 20
"""How many ``stream_sessions`` rows :meth:`StreamManager.status` shows when idle."""

LATEST_ITEM_KEYS: Final[tuple[str, ...]] = (
    *(c for c in ROW_COLUMNS if c not in ("event_time", "received_at", "source_payload")),
    "event_time",
    "received_at",
)
"""The keys of each item :meth:`StreamManager.latest` returns, in order."""


class StreamStateError(RuntimeError):
    """The request does not fit the manager's state (a stream already runs, or none does)."""


class StreamStartError(RuntimeError):
    """The ingest could not start (its journal directory is in use or unusable)."""


class SourceFactory(Protocol):
    """Builds the tick source of one spec (:func:`~riskdesk.streaming.sources.build_source`)."""

    def __call__(self, spec: SourceSpec, *, secrets: SecretStore | None = None) -> TickSource:
        """The source streaming ``spec`` (ValueError naming the field for a bad spec)."""
        ...


def _record_item(record: UnifiedPositionRecord) -> dict[str, Any]:
    """A latest record as an item of :meth:`StreamManager.latest` (JSON types only)."""
    return {
        "broker": record.broker,
        "account_id": record.account_id,
        "underlying": record.underlying,
        "contract_key": record.contract_key,
        "expiration": record.expiration.isoformat(),
        "strike": format(record.strike, "f"),
        "option_type": record.option_type,
        "quantity": None if record.quantity is None else format(record.quantity, "f"),
        "delta": record.delta,
        "gamma": record.gamma,
        "theta": record.theta,
        "vega": record.vega,
        "rho": record.rho,
        "implied_volatility": record.implied_volatility,
        "underlying_price": record.underlying_price,
        "event_time": record.event_time.isoformat(timespec="microseconds"),
        "received_at": record.received_at.isoformat(timespec="microseconds"),
    }


class StreamManager:
    """At most one running ingest in this process (see the module docstring).

    Parameters
    ----------
    db : Database
        The migrated database the ingest writes to and idle reads come from.
    journal_dir : Path
        The ingest's journal directory (one ingest per directory, across processes).
    source_factory : SourceFactory
        Builds a :class:`~riskdesk.streaming.source.TickSource` from a spec.
    secrets : SecretStore or None
        The secrets store ``source_factory`` reads broker credentials from (None: the
        factory's default, :func:`riskdesk.secrets.open_secret_store`, opened only for a
        broker that needs credentials).
    status_interval : float
        Seconds between the ingest's ``stream_sessions`` updates and status-file rewrites.
    recover_timeout : float
        Seconds a start waits for the database to take what the journal holds (then the
        writer keeps trying in the background).

    """

    def __init__(
        self,
        db: Database,
        *,
        journal_dir: Path,
        source_factory: SourceFactory = build_source,
        secrets: SecretStore | None = None,
        status_interval: float = 1.0,
        recover_timeout: float = 30.0,
    ) -> None:
        if not status_interval > 0:
            raise ValueError(f"status_interval must be > 0 seconds, got {status_interval!r}")
        self.db = db
        self.journal_dir = Path(journal_dir)
        self._source_factory = source_factory
        self._secrets = secrets
        self._status_interval = float(status_interval)
        self._recover_timeout = float(recover_timeout)
        self._lifecycle = threading.Lock()  # start / stop / close, one at a time
        self._lock = threading.Lock()  # guards the fields below
        self._ingestor: Ingestor | None = None
        self._specs: tuple[SourceSpec, ...] = ()
        self._last: dict[str, Any] | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        """True while an ingest started by this manager runs."""
        with self._lock:
            return self._ingestor is not None

    def start(self, specs: Sequence[SourceSpec]) -> dict[str, Any]:
        """Start one ingest of ``specs`` (one source each); its :meth:`status`.

        Raises
        ------
        ValueError
            For no spec, two specs of the same broker and account, a spec its source
            refuses or whose credentials are not in the secrets store (the message names the
            spec's index and the field).
        StreamStateError
            When an ingest already runs.
        StreamStartError
            When the journal directory is held by another process or cannot be opened, or a
            broker's adapter is not available.

        """
        specs = tuple(specs)
        if not specs:
            raise ValueError("sources: give at least one source spec to stream")
        with self._lifecycle:
            with self._lock:
                current = self._ingestor
            if current is not None:
                raise StreamStateError(
                    f"a stream is already running ({_describe(self._specs)}); stop it first"
                )
            sources: list[TickSource] = []
            for index, spec in enumerate(specs):
                try:
                    sources.append(self._source_factory(spec, secrets=self._secrets))
                except SecretNotFoundError as exc:
                    raise ValueError(f"sources[{index}]: credentials: {exc}") from exc
                except ValueError as exc:
                    raise ValueError(f"sources[{index}]: {exc}") from exc
                except SourceUnavailableError as exc:
                    raise StreamStartError(f"sources[{index}]: {exc}") from exc
                except SecretsError as exc:  # wrong key, no keyring, a damaged store
                    raise StreamStartError(f"sources[{index}]: credentials: {exc}") from exc
            ingestor = Ingestor(
                self.db,
                journal_dir=self.journal_dir,
                sources=sources,
                status_interval=self._status_interval,
                recover_timeout=self._recover_timeout,
            )
            try:
                ingestor.start()
            except JournalError as exc:
                raise StreamStartError(f"cannot start the stream: {exc}") from exc
            with self._lock:
                self._ingestor = ingestor
                self._specs = specs
            log.info("stream: started %s into %s", _describe(specs), self.journal_dir)
        return self.status()

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> dict[str, Any]:
        """Stop the running ingest and drain its writer; the final counts.

        Returns ``drained`` (True when every journaled record was stored; otherwise the rest
        stays in the journal and the next start stores it), ``journal_depth`` (records left
        in the journal), ``totals`` (received, journaled, persisted, deduped, rejected) and the
        final ``status`` of the ingest.

        Raises
        ------
        StreamStateError
            When no ingest runs.

        """
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        with self._lifecycle:
            with self._lock:
                ingestor = self._ingestor
            if ingestor is None:
                raise StreamStateError("no stream is running; start one first")
            return self._stop(ingestor, timeout)

    def _stop(self, ingestor: Ingestor, timeout: float) -> dict[str, Any]:
        """Stop ``ingestor`` (lifecycle lock held) and forget it."""
        try:
            drained = ingestor.stop(timeout=timeout)
        finally:
            final = ingestor.status()
            with self._lock:
                self._ingestor = None
                self._last = final
        writer = final.get("writer") or {}
        log.info("stream: stopped %s (drained: %s)", _describe(self._specs), drained)
        return {
            "drained": drained,
            "journal_depth": int(writer.get("journal_depth") or 0),
            "totals": dict(final["totals"]),
            "status": final,
        }

    def close(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> dict[str, Any] | None:
        """Stop the running ingest, if any (process shutdown); idempotent.

        Returns what :meth:`stop` returns, or None when nothing ran. The manager may start
        again afterwards (an application served a second time).
        """
        with self._lifecycle:
            with self._lock:
                ingestor = self._ingestor
            if ingestor is None:
                return None
            return self._stop(ingestor, timeout)

    # ------------------------------------------------------------------ reads

    def status(self) -> dict[str, Any]:
        """The stream's state.

        ``running``; ``journal_dir``; ``sources`` (the specs of the running or last run, as
        dicts); ``status`` (the ingest's live :meth:`~riskdesk.streaming.ingest.Ingestor.status`
        while running, else the last run's final status, None before any run in this
        process); ``latest_sessions`` (None while running, else the newest
        ``stream_sessions`` rows) and ``sessions_error`` (why they could not be read, or
        None).
        """
        with self._lock:
            ingestor = self._ingestor
            last = self._last
            specs = self._specs
        out: dict[str, Any] = {
            "running": ingestor is not None,
            "journal_dir": str(self.journal_dir),
            "sources": [_spec_dict(spec) for spec in specs],
            "status": None,
            "latest_sessions": None,
            "sessions_error": None,
        }
        if ingestor is not None:
            out["status"] = ingestor.status()
            return out
        out["status"] = last
        try:
            out["latest_sessions"] = latest_sessions(self.db, limit=SESSION_ROWS)
        except (sa.exc.SQLAlchemyError, StoreError) as exc:
            out["latest_sessions"] = []
            out["sessions_error"] = f"stream_sessions not readable: {str(exc).splitlines()[0]}"
        return out

    def latest(self, limit: int = LATEST_LIMIT, *, caller: Caller | None = None) -> dict[str, Any]:
        """The newest Greeks of each contract: ``source``, ``items``, ``truncated``.

        ``source`` is ``"live"`` (the running ingest's in-memory view, ordered by broker,
        account and contract key) or ``"stored"`` (the database's newest event of each
        contract, read as ``caller``); ``truncated`` says ``limit`` cut contracts off.

        Raises
        ------
        ValueError
            For ``limit`` outside 1 .. MAX_LATEST_LIMIT.

        """
        if not 1 <= limit <= MAX_LATEST_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LATEST_LIMIT}, got {limit}")
        with self._lock:
            ingestor = self._ingestor
        if ingestor is not None:
            records = _live_records(ingestor)
            return {
                "source": "live",
                "items": [_record_item(r) for r in records[:limit]],
                "truncated": len(records) > limit,
            }
        stored = GreeksQueries(self.db, caller).latest(GreekFilter(), limit=limit)
        items = []
        for view in stored.items:
            wire = view.to_dict()
            items.append({key: wire[key] for key in LATEST_ITEM_KEYS})
        return {"source": "stored", "items": items, "truncated": stored.truncated}


def _live_records(ingestor: Ingestor) -> list[UnifiedPositionRecord]:
    """The ingest's latest records (read under the ingest's lock)."""
    return ingestor.latest_records()


def _spec_dict(spec: SourceSpec) -> dict[str, Any]:
    """A spec as JSON (``credentials`` is the name of stored credentials, never a secret)."""
    return spec.to_dict()


def _describe(specs: Sequence[SourceSpec]) -> str:
    return ", ".join(f"{s.broker}/{s.account_id}" for s in specs) or "no source"
