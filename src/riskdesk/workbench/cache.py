"""An in-process LRU of loaded market snapshots, shared by the use cases of one process.

Snapshots are immutable and content-addressed, so a loaded copy never goes stale: a service
process keeps the recent ones in memory and the use cases (chain reads, evaluate, compare,
attribute) skip re-reading and re-hashing thousands of quote rows per request. Entries are
keyed by id and carry their hash; a reader checks the hash against the row it resolved.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict

from riskdesk.domain.market import MarketSnapshot

__all__ = ["SNAPSHOT_CACHE_SIZE", "SnapshotCache"]

SNAPSHOT_CACHE_SIZE = 16
"""Snapshots kept per process (a full synthetic market is a few MB in memory)."""


class SnapshotCache:
    """A thread-safe LRU of loaded snapshots by id (snapshots never change once stored)."""

    def __init__(self, maxsize: int = SNAPSHOT_CACHE_SIZE) -> None:
        if maxsize < 1:
            raise ValueError(f"SnapshotCache maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._items: OrderedDict[uuid.UUID, tuple[str, MarketSnapshot]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, snapshot_id: uuid.UUID) -> tuple[str, MarketSnapshot] | None:
        """``(hash, snapshot)`` of ``snapshot_id`` if loaded (and mark it recently used)."""
        with self._lock:
            item = self._items.get(snapshot_id)
            if item is not None:
                self._items.move_to_end(snapshot_id)
            return item

    def put(self, snapshot_id: uuid.UUID, snapshot_hash: str, snapshot: MarketSnapshot) -> None:
        """Keep ``snapshot``, evicting the least recently used beyond ``maxsize``."""
        with self._lock:
            self._items[snapshot_id] = (snapshot_hash, snapshot)
            self._items.move_to_end(snapshot_id)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
