"""The market-source contract: where market snapshots come from.

Every source of market data -- the synthetic generator, the chain-file importer, and later
broker adapters -- implements :class:`MarketSource`, so the workbench stores a snapshot from
any of them through one use case (:func:`riskdesk.workbench.snapshots.take_snapshot`, then
:meth:`~riskdesk.workbench.Workbench.save_snapshot`) and
refreshes a LIVE snapshot through another (:meth:`~riskdesk.workbench.Workbench.refresh_snapshot`).

Plugging in a new source
------------------------
Write a class with the three methods and the ``name`` property below (no base class needed:
the contract is structural), next to the adapter's parsing code, e.g.
``riskdesk/adapters/<broker>/data.py``; the CLI or service builds it from its options and
hands it to the use case. Nothing in :mod:`riskdesk.workbench` or :mod:`riskdesk.store`
changes.

Rules every implementation keeps:

* snapshots are timezone-aware (UTC) :class:`~riskdesk.domain.market.MarketSnapshot` values
  whose ``source`` equals :attr:`MarketSource.name`;
* a source does no I/O on the database and holds no transaction: the use case stores what it
  returns;
* bad input raises :class:`ValueError` (or a subclass) whose message names the field, the value
  and the rule, so every front end can show it as one line.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from riskdesk.domain.market import MarketSnapshot, SnapshotMode

__all__ = ["MarketSource"]


@runtime_checkable
class MarketSource(Protocol):
    """A source of market snapshots: take one now, re-mark a LIVE one later, describe itself.

    Methods
    -------
    snapshot(mode=SnapshotMode.LIVE)
        The market as the source sees it now (for a replayable source: at the time it was
        configured with), in ``mode``.
    refresh(base, minutes=...)
        ``base`` (a LIVE snapshot this source produced) re-marked ``minutes`` later. A source
        that cannot move forward in time (a file) raises :class:`ValueError` saying how to get
        a newer snapshot instead. The use case keeps ``base``'s user overrides.
    describe()
        Plain JSON-ready facts that identify the source's configuration (seed, file, ...),
        for messages, reports and audit.

    """

    @property
    def name(self) -> str:
        """The ``source`` label of the snapshots this source produces."""
        ...

    def snapshot(self, *, mode: SnapshotMode = SnapshotMode.LIVE) -> MarketSnapshot:
        """The market now, as a snapshot in ``mode``."""
        ...

    def refresh(self, base: MarketSnapshot, *, minutes: int) -> MarketSnapshot:
        """``base`` re-marked ``minutes`` minutes later (a LIVE snapshot)."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts identifying this source's configuration."""
        ...
