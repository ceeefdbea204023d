"""The contract between a broker stream (a :class:`TickSource`) and the ingest pipeline.

A source owns its connection: it connects, subscribes, keeps the session alive, reconnects with
the session's backoff (:class:`~riskdesk.streaming.session.StreamSession` /
:class:`~riskdesk.streaming.session.Backoff`) and resubscribes, and hands every event it
decodes to a :class:`SourceSink`. The ingest pipeline
(:class:`riskdesk.streaming.ingest.Ingestor`) gives each source its own sink and thread, so a
slow or failing source never blocks another.

Rules every source follows:

* :meth:`TickSource.run` blocks until ``stop`` is set, then returns promptly; it never raises
  for network trouble (it reports it through :meth:`SourceSink.status` with ``error=``), only
  for programming errors;
* ``received_at`` of each :class:`~riskdesk.streaming.normalize.GreeksTick` is stamped by the
  source at receipt (timezone-aware UTC); ``raw`` is the decoded payload (JSON types only);
* every session transition is reported with :meth:`SourceSink.status` (the
  :class:`~riskdesk.streaming.session.Step` the session returned);
* a payload that cannot be decoded is reported with :meth:`SourceSink.rejected` (counted),
  never dropped silently.
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from riskdesk.streaming.normalize import GreeksTick, PositionUpdate
from riskdesk.streaming.session import Step

__all__ = ["SourceSink", "TickSource"]


@runtime_checkable
class SourceSink(Protocol):
    """Where a :class:`TickSource` delivers what it receives (thread-safe for its source)."""

    def tick(self, tick: GreeksTick) -> None:
        """One Greeks event, ``received_at`` stamped at receipt."""
        ...

    def position(self, update: PositionUpdate) -> None:
        """A position of the account (its quantity goes into the following ticks' records)."""
        ...

    def status(self, step: Step, *, error: str | None = None) -> None:
        """A session transition (each one), with the error that caused it, if any."""
        ...

    def rejected(self, reason: str, detail: str) -> None:
        """A malformed payload the source could not decode (counted by ``reason``)."""
        ...


@runtime_checkable
class TickSource(Protocol):
    """A broker stream of one account.

    Attributes
    ----------
    broker : str
        ``"tastytrade"``, ``"ibkr"`` or ``"simulated"``
        (:data:`riskdesk.store.models._base.SUPPORTED_BROKERS`).
    account_id : str
        The account streamed.

    """

    broker: str
    account_id: str

    def run(self, sink: SourceSink, stop: threading.Event) -> None:
        """Stream into ``sink`` until ``stop`` is set.

        Connects, subscribes, reconnects with the session's backoff and resubscribes; never
        raises for network trouble (reported through ``sink.status``), only for programming
        errors.
        """
        ...
