"""The append-only journal of received stream records: on disk within milliseconds.

Every record a stream session receives is appended here before anything else happens to it,
so a record is durable (fsynced) long before the database has it (see
:class:`riskdesk.streaming.writer.BatchWriter`). The journal is a directory of segment files::

    <directory>/
        00000000000000000001.seg    entries 1 .. k        (fully acked: deleted on ack)
        0000000000000000000k+1.seg  entries k+1 .. n      (the active segment)
        checkpoint                  {"acked": m}           (what the database has stored)
        LOCK                        one process at a time (flock)

Offsets are dense, start at 1 and never repeat (a new journal after a checkpoint continues
after it). A segment is named by its first offset. Each entry is framed::

    magic b"RDJ1" | offset u64 | length u32 | crc32 u32 | length bytes of UTF-8 JSON

(big-endian; the CRC-32 covers the offset, the length and the JSON), so a crash that tears the
last write is detected: on open, a bad entry in the last segment with no valid entry after it
is a torn tail and is truncated away. A bad entry anywhere else (or followed by a valid one)
is corruption: :class:`CorruptJournalError` names the segment and the byte position, and
nothing is skipped.

Durability: :meth:`Journal.append` encodes the record and queues it in memory; a group-commit
thread writes and fsyncs the queue at most every ``fsync_interval_ms`` (20 ms by default, so a
record is on disk well within 50 ms); :meth:`Journal.flush` does it at once, and
:meth:`Journal.wait_durable` waits for a given offset.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CorruptJournalError",
    "DurableListener",
    "Journal",
    "JournalClosedError",
    "JournalError",
    "JournalRecord",
    "RecordDecoder",
    "record_json",
]

log = logging.getLogger(__name__)

MAGIC = b"RDJ1"
_HEADER = struct.Struct(">4sQII")  # magic, offset, length, crc32
HEADER_SIZE = _HEADER.size
MAX_ENTRY_BYTES = 64 * 1024 * 1024
"""Largest JSON payload of one entry (a larger length field is corruption)."""
SEGMENT_SUFFIX = ".seg"
CHECKPOINT_NAME = "checkpoint"
LOCK_NAME = "LOCK"


class JournalError(Exception):
    """The journal cannot be opened, written or read."""


class JournalClosedError(JournalError):
    """An operation on a journal that was closed."""


class CorruptJournalError(JournalError):
    """An entry that is not the torn tail of the last segment failed its checks."""

    def __init__(self, segment: Path, position: int, expected_offset: int, reason: str) -> None:
        self.segment = segment
        self.position = position
        self.expected_offset = expected_offset
        self.reason = reason
        super().__init__(
            f"journal segment {segment} is corrupt at byte {position} (entry for offset "
            f"{expected_offset}): {reason}; nothing was skipped. Restore the segment from a "
            "backup, or move the journal directory aside after checking the database holds "
            "what you need"
        )


@runtime_checkable
class JournalRecord(Protocol):
    """What the journal stores: a record that renders itself as a JSON object."""

    def to_json(self) -> dict[str, Any] | str:
        """The record as a JSON object: a dict, or its JSON text (round-trips via a decoder)."""
        ...


def record_json(record: JournalRecord | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object of ``record``: ``to_json()`` (a dict, or JSON text parsed) or the mapping."""
    if isinstance(record, Mapping):
        return dict(record)
    body = record.to_json()
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"{type(record).__name__}.to_json() is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError(
            f"{type(record).__name__}.to_json() must give a JSON object, got {type(body).__name__}"
        )
    return body


RecordDecoder = Callable[[dict[str, Any]], Any]
"""Turns a journaled JSON object back into a record (e.g. ``UnifiedPositionRecord.from_json``)."""

DurableListener = Callable[[int, int], None]
"""Called by the group-commit thread after an fsync with (first offset, last offset) made durable."""


def _segment_name(first_offset: int) -> str:
    return f"{first_offset:020d}{SEGMENT_SUFFIX}"


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encode_entry(offset: int, payload: bytes) -> bytes:
    """Frame ``payload`` (UTF-8 JSON) as the entry of ``offset``."""
    crc = zlib.crc32(payload, zlib.crc32(struct.pack(">QI", offset, len(payload))))
    return _HEADER.pack(MAGIC, offset, len(payload), crc) + payload


def _parse_at(data: bytes, position: int, expected: int) -> tuple[bytes, int] | str:
    """Payload and next position of the entry at ``position``, or why it is invalid."""
    if len(data) - position < HEADER_SIZE:
        return f"truncated header ({len(data) - position} of {HEADER_SIZE} bytes)"
    magic, offset, length, crc = _HEADER.unpack_from(data, position)
    if magic != MAGIC:
        return f"bad magic {magic!r}"
    if length > MAX_ENTRY_BYTES:
        return f"entry length {length} exceeds {MAX_ENTRY_BYTES}"
    end = position + HEADER_SIZE + length
    if end > len(data):
        return f"truncated entry ({len(data) - position - HEADER_SIZE} of {length} bytes)"
    payload = data[position + HEADER_SIZE : end]
    if zlib.crc32(payload, zlib.crc32(struct.pack(">QI", offset, length))) != crc:
        return "CRC-32 mismatch"
    if offset != expected:
        return f"entry holds offset {offset}, expected {expected}"
    return payload, end


def _valid_entry_after(data: bytes, position: int, after_offset: int) -> bool:
    """Whether a well-formed entry with an offset > ``after_offset`` starts after ``position``."""
    search = data.find(MAGIC, position + 1)
    while search != -1:
        if len(data) - search >= HEADER_SIZE:
            _magic, offset, _length, _crc = _HEADER.unpack_from(data, search)
            if offset > after_offset and not isinstance(_parse_at(data, search, offset), str):
                return True
        search = data.find(MAGIC, search + 1)
    return False


def _scan(
    segment: Path, first_offset: int, *, last_segment: bool
) -> tuple[list[tuple[int, int, int]], int]:
    """Entries ``(offset, payload start, payload end)`` of ``segment`` and its valid length.

    In the last segment a bad entry with no valid entry after it is a torn tail: the valid
    length stops before it. Any other bad entry raises :class:`CorruptJournalError`.
    """
    data = segment.read_bytes()
    entries: list[tuple[int, int, int]] = []
    position = 0
    expected = first_offset
    while position < len(data):
        parsed = _parse_at(data, position, expected)
        if isinstance(parsed, str):
            if last_segment and not _valid_entry_after(data, position, expected - 1):
                return entries, position
            raise CorruptJournalError(segment, position, expected, parsed)
        payload_end = parsed[1]
        entries.append((expected, position + HEADER_SIZE, payload_end))
        position = payload_end
        expected += 1
    return entries, position


class Journal:
    """Append-only, CRC-framed, segmented journal of JSON records with group commit.

    Parameters
    ----------
    directory:
        Where the segments and the checkpoint live (created 0700 if missing). One process at
        a time: a second :class:`Journal` on the same directory raises :class:`JournalError`.
    fsync_interval_ms:
        The group-commit thread writes and fsyncs queued entries at most this often (and
        within this long of an append, plus the fsync's own time).
    segment_bytes:
        A segment is closed and a new one started once it reaches this size.
    on_durable:
        Optional listener called (from the commit thread) with ``(first, last)`` offsets made
        durable by each fsync; more can be added with :meth:`add_durable_listener`.

    Examples
    --------
    >>> import tempfile
    >>> with Journal(tempfile.mkdtemp()) as journal:
    ...     offset = journal.append({"contract_key": "SPY:20250117:500:C", "delta": 0.5})
    ...     durable = journal.flush()
    ...     [entry for entry in journal.replay()]
    [(1, {'contract_key': 'SPY:20250117:500:C', 'delta': 0.5})]

    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fsync_interval_ms: float = 20,
        segment_bytes: int = 64 * 1024 * 1024,
        on_durable: DurableListener | None = None,
    ) -> None:
        if fsync_interval_ms < 0:
            raise ValueError(f"fsync_interval_ms must be >= 0, got {fsync_interval_ms}")
        if segment_bytes < HEADER_SIZE + 2:
            raise ValueError(
                f"segment_bytes must be at least {HEADER_SIZE + 2}, got {segment_bytes}"
            )
        self.directory = Path(directory)
        self.fsync_interval = fsync_interval_ms / 1000.0
        self.segment_bytes = segment_bytes
        self._listeners: list[DurableListener] = [on_durable] if on_durable else []
        self._state = threading.Condition()  # guards the fields below
        self._io = threading.Lock()  # serializes file writes (commit thread vs flush())
        self._pending: list[tuple[int, bytes]] = []
        self._closed = False
        self._failure: BaseException | None = None
        self._flush_requested = False
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._lock_fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalError(
                f"cannot open the journal directory {self.directory}: {exc.strerror}; "
                "make it writable or choose another directory"
            ) from exc
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            raise JournalError(
                f"the journal {self.directory} is in use by another process; stop it first "
                "(one writer per journal directory)"
            ) from exc
        try:
            self._acked = self._read_checkpoint()
            self._open_segments()
        except BaseException:
            os.close(self._lock_fd)
            raise
        self._thread = threading.Thread(
            target=self._commit_loop, name=f"journal-commit:{self.directory.name}", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------------ opening

    def _segments(self) -> list[tuple[int, Path]]:
        found: list[tuple[int, Path]] = []
        for path in self.directory.glob(f"*{SEGMENT_SUFFIX}"):
            stem = path.name[: -len(SEGMENT_SUFFIX)]
            if stem.isdigit():
                found.append((int(stem), path))
        return sorted(found)

    def _read_checkpoint(self) -> int:
        path = self.directory / CHECKPOINT_NAME
        if not path.exists():
            return 0
        try:
            value = json.loads(path.read_text(encoding="utf-8"))["acked"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise JournalError(
                f"journal checkpoint {path} is unreadable ({exc}); it is written by atomic "
                "rename, so this is outside damage: restore it or delete it to replay everything"
            ) from exc
        if not isinstance(value, int) or value < 0:
            raise JournalError(f"journal checkpoint {path} holds {value!r}, not an offset >= 0")
        return value

    def _open_segments(self) -> None:
        segments = self._segments()
        if segments:
            first, path = segments[-1]
            entries, valid = _scan(path, first, last_segment=True)
            size = path.stat().st_size
            if valid < size:
                log.warning(
                    "journal %s: torn tail of %d bytes truncated (last complete offset %d)",
                    path,
                    size - valid,
                    entries[-1][0] if entries else first - 1,
                )
                with path.open("r+b") as handle:
                    handle.truncate(valid)
                    handle.flush()
                    os.fsync(handle.fileno())
            last = entries[-1][0] if entries else first - 1
        else:
            first, valid, last = 0, 0, 0
        # an ack may run ahead of what reached this disk before a crash (the database had
        # those records): never reuse an acked offset, start a new segment after it instead
        self._last = max(last, self._acked)
        self._durable = self._last
        if segments and self._last == last:
            self._segment_first, self._segment_size = first, valid
        else:
            self._segment_first, self._segment_size = self._last + 1, 0
        self._file = (self.directory / _segment_name(self._segment_first)).open("ab")
        _fsync_directory(self.directory)

    # ------------------------------------------------------------------ appending

    def add_durable_listener(self, listener: DurableListener) -> None:
        """Call ``listener(first, last)`` after every fsync that makes offsets durable."""
        with self._state:
            self._listeners.append(listener)

    def append(self, record: JournalRecord | Mapping[str, Any]) -> int:
        """Queue ``record`` (its ``to_json()``, or a mapping) and return its offset.

        The entry is durable once :meth:`durable_offset` reaches the offset (the commit thread
        gets it there within ``fsync_interval_ms`` plus an fsync). Raises ``ValueError`` for a
        record that is not finite JSON, :class:`JournalError` after a write failure.
        """
        body = record_json(record)
        try:
            payload = json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"journal record is not plain finite JSON ({exc}); to_json() must return "
                "str/int/float/bool/None/list/dict values, with NaN and infinity as null"
            ) from exc
        if len(payload) > MAX_ENTRY_BYTES:
            raise ValueError(f"journal record of {len(payload)} bytes exceeds {MAX_ENTRY_BYTES}")
        with self._state:
            self._check_open()
            self._last += 1
            self._pending.append((self._last, payload))
            if len(self._pending) == 1:
                self._state.notify_all()
            return self._last

    def _check_open(self) -> None:
        if self._failure is not None:
            raise JournalError(
                f"journal {self.directory} failed to write ({self._failure}); records after "
                f"offset {self._durable} are not on disk: fix the disk and restart"
            ) from self._failure
        if self._closed:
            raise JournalClosedError(f"journal {self.directory} is closed")

    def _commit_loop(self) -> None:
        last_commit = 0.0
        while True:
            with self._state:
                while not self._closed and not self._pending:
                    self._state.wait()
                if not self._pending:
                    return  # closed and drained
                deadline = last_commit + self.fsync_interval
                while not self._closed and not self._flush_requested:
                    delay = deadline - time.monotonic()
                    if delay <= 0:
                        break
                    self._state.wait(delay)
                self._flush_requested = False
            try:
                self._commit()
            except BaseException as exc:  # a disk error: fail every later call loudly
                log.exception("journal %s: write failed", self.directory)
                with self._state:
                    self._failure = exc
                    self._pending.clear()
                    self._state.notify_all()
                return
            last_commit = time.monotonic()

    def _commit(self) -> None:
        """Write and fsync everything queued so far (serialized by ``_io``)."""
        with self._io:
            with self._state:
                batch, self._pending = self._pending, []
            if not batch:
                return
            for offset, payload in batch:
                if self._segment_size >= self.segment_bytes:
                    self._rotate(offset)
                entry = encode_entry(offset, payload)
                self._file.write(entry)
                self._segment_size += len(entry)
            self._file.flush()
            os.fsync(self._file.fileno())
            first, last = batch[0][0], batch[-1][0]
            with self._state:
                self._durable = last
                listeners = list(self._listeners)
                self._state.notify_all()
            for listener in listeners:
                try:
                    listener(first, last)
                except Exception:  # a metrics hook must never stop durability
                    log.exception("journal durable listener failed")

    def _rotate(self, next_offset: int) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._segment_first, self._segment_size = next_offset, 0
        self._file = (self.directory / _segment_name(next_offset)).open("ab")
        _fsync_directory(self.directory)

    def flush(self) -> int:
        """Write and fsync every appended entry now; returns the durable offset."""
        with self._state:
            self._check_open()
        self._commit()
        with self._state:
            self._check_open()
            return self._durable

    def durable_offset(self) -> int:
        """The last offset written and fsynced (0 for an empty journal)."""
        with self._state:
            return self._durable

    def last_offset(self) -> int:
        """The last offset appended (durable or not)."""
        with self._state:
            return self._last

    def wait_durable(self, offset: int, timeout: float | None = None) -> bool:
        """Wait until ``offset`` is durable; False if ``timeout`` seconds passed first."""
        with self._state:
            if offset > self._last:
                raise ValueError(f"offset {offset} was never appended (last is {self._last})")
            self._flush_requested = True
            self._state.notify_all()
            self._state.wait_for(
                lambda: self._durable >= offset or self._failure is not None, timeout
            )
            if self._failure is not None:
                self._check_open()
            return self._durable >= offset

    # ------------------------------------------------------------------ acking and reading

    def checkpoint(self) -> int:
        """The last offset acked (the database holds everything up to it)."""
        with self._state:
            return self._acked

    def depth(self) -> int:
        """How many appended entries are not acked yet."""
        with self._state:
            return self._last - self._acked

    def ack(self, offset: int) -> None:
        """Record that the database holds every entry up to ``offset``; delete acked segments.

        The checkpoint is written to a temporary file, fsynced and renamed over the old one,
        so a crash leaves either the old or the new checkpoint. Acking an offset at or below
        the checkpoint does nothing.
        """
        with self._state:
            self._check_open()
            if offset > self._last:
                raise ValueError(
                    f"cannot ack offset {offset}: the journal's last offset is {self._last}"
                )
            if offset <= self._acked:
                return
        with self._io:
            path = self.directory / CHECKPOINT_NAME
            temporary = self.directory / f"{CHECKPOINT_NAME}.tmp"
            with temporary.open("w", encoding="utf-8") as handle:
                handle.write(json.dumps({"acked": offset}))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
            with self._state:
                self._acked = max(self._acked, offset)
            removed = self._delete_acked_segments(offset)
            _fsync_directory(self.directory)
        if removed:
            log.debug("journal %s: deleted acked segments %s", self.directory, removed)

    def _delete_acked_segments(self, acked: int) -> list[str]:
        segments = self._segments()
        removed: list[str] = []
        for (_first, path), (next_first, _next) in itertools.pairwise(segments):
            if next_first - 1 > acked:
                break
            path.unlink()
            removed.append(path.name)
        return removed

    def replay(self, after: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(offset, record JSON)`` of every durable entry after ``after``, in order.

        ``after`` defaults to the checkpoint. Entries appended but not yet flushed are flushed
        first; entries appended while iterating are not included. Raises
        :class:`CorruptJournalError` on a damaged entry, naming segment and position.
        """
        acked = self.checkpoint()
        start = acked if after is None else after
        end = self.flush()
        with self._io:
            segments = [(first, path) for first, path in self._segments() if first <= end]
        for index, (first, path) in enumerate(segments):
            following = segments[index + 1][0] if index + 1 < len(segments) else end + 1
            if following - 1 <= start:
                continue
            with path.open("rb") as handle:
                data = handle.read()
            position, expected = 0, first
            while expected <= end and position < len(data) and expected < following:
                parsed = _parse_at(data, position, expected)
                if isinstance(parsed, str):
                    raise CorruptJournalError(path, position, expected, parsed)
                payload, position = parsed
                if expected > start:
                    try:
                        value = json.loads(payload)
                    except ValueError as exc:
                        reason = f"bad JSON: {exc}"
                        raise CorruptJournalError(path, position, expected, reason) from exc
                    if not isinstance(value, dict):
                        reason = f"entry is a JSON {type(value).__name__}, not an object"
                        raise CorruptJournalError(path, position, expected, reason)
                    yield expected, value
                expected += 1
            missing_to = min(following - 1, end)
            if expected <= missing_to and missing_to > max(start, acked):
                reason = f"segment ends before offset {missing_to}, which is not acked"
                raise CorruptJournalError(path, position, expected, reason)

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Flush, stop the commit thread and release the directory lock (idempotent)."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            self._state.notify_all()
        self._thread.join()
        with contextlib.suppress(JournalError):
            if self._failure is None:
                self._commit()
        self._file.close()
        os.close(self._lock_fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
