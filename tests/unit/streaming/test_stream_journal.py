"""The append-only journal: framing, torn tails, corruption, checkpoints, segments, latency."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from riskdesk.streaming.journal import (
    CorruptJournalError,
    Journal,
    JournalError,
    encode_entry,
)


class _Record:
    def __init__(self, seq: int) -> None:
        self.seq = seq

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "kind": "text"})


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.seg"))


def _fill(directory: Path, count: int, **options: Any) -> None:
    with Journal(directory, **options) as journal:
        for seq in range(count):
            journal.append({"seq": seq})
        journal.flush()


def test_journal_with_dicts_and_records_round_trips_in_order(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        offsets = [
            journal.append({"seq": 0}),
            journal.append(_Record(1)),
            journal.append({"seq": 2}),
        ]
        assert journal.flush() == 3
        assert [o for o, _ in journal.replay()] == offsets == [1, 2, 3]
    with Journal(tmp_path) as reopened:
        entries = list(reopened.replay())
        assert entries == [(1, {"seq": 0}), (2, {"seq": 1, "kind": "text"}), (3, {"seq": 2})]
        assert reopened.append({"seq": 3}) == 4
        assert reopened.depth() == 4


def test_journal_with_torn_tail_truncates_it_on_open(tmp_path: Path) -> None:
    _fill(tmp_path, 5)
    segment = _segments(tmp_path)[-1]
    size = segment.stat().st_size
    torn = encode_entry(6, b'{"seq":5}')[:-3]
    with segment.open("ab") as handle:
        handle.write(torn)
    with Journal(tmp_path) as journal:
        assert segment.stat().st_size == size
        assert journal.last_offset() == 5
        assert journal.append({"seq": 99}) == 6
        assert [body["seq"] for _, body in journal.replay()] == [0, 1, 2, 3, 4, 99]


def test_journal_with_garbage_tail_after_last_entry_truncates_it(tmp_path: Path) -> None:
    _fill(tmp_path, 3)
    segment = _segments(tmp_path)[-1]
    with segment.open("ab") as handle:
        handle.write(b"\x00" * 40)
    with Journal(tmp_path) as journal:
        assert journal.last_offset() == 3
        assert len(list(journal.replay())) == 3


def test_journal_with_corrupt_middle_entry_raises_naming_segment_and_offset(
    tmp_path: Path,
) -> None:
    _fill(tmp_path, 5)
    segment = _segments(tmp_path)[-1]
    data = bytearray(segment.read_bytes())
    first_len = len(encode_entry(1, b'{"seq":0}'))
    data[first_len + 25] ^= 0xFF  # a payload byte of entry 2; entries 3..5 stay valid
    segment.write_bytes(bytes(data))
    with pytest.raises(CorruptJournalError) as caught:
        Journal(tmp_path)
    error = caught.value
    assert error.segment == segment
    assert error.expected_offset == 2
    assert error.position == first_len
    assert segment.name in str(error)
    assert "offset 2" in str(error)
    assert "CRC" in str(error)


def test_journal_with_corrupt_entry_in_older_segment_raises_on_replay(tmp_path: Path) -> None:
    _fill(tmp_path, 12, segment_bytes=100)
    oldest = _segments(tmp_path)[0]
    data = bytearray(oldest.read_bytes())
    data[-2] ^= 0xFF
    oldest.write_bytes(bytes(data))
    with (
        Journal(tmp_path, segment_bytes=100) as journal,
        pytest.raises(CorruptJournalError) as caught,
    ):
        list(journal.replay())
    assert caught.value.segment == oldest


def test_journal_with_checkpoint_replays_only_unacked_entries(tmp_path: Path) -> None:
    _fill(tmp_path, 10)
    with Journal(tmp_path) as journal:
        journal.ack(4)
        journal.ack(2)  # lower than the checkpoint: ignored
        with pytest.raises(ValueError, match="last offset is 10"):
            journal.ack(11)
    with Journal(tmp_path) as journal:
        assert journal.checkpoint() == 4
        assert journal.depth() == 6
        assert [offset for offset, _ in journal.replay()] == [5, 6, 7, 8, 9, 10]
        assert [offset for offset, _ in journal.replay(after=8)] == [9, 10]
    assert json.loads((tmp_path / "checkpoint").read_text()) == {"acked": 4}
    assert not (tmp_path / "checkpoint.tmp").exists()


def test_journal_with_small_segments_rotates_and_deletes_acked_ones(tmp_path: Path) -> None:
    with Journal(tmp_path, segment_bytes=100) as journal:
        for seq in range(20):
            journal.append({"seq": seq})
        journal.flush()
        before = _segments(tmp_path)
        assert len(before) >= 5
        journal.ack(20)
        after = _segments(tmp_path)
        assert after == before[-1:]
        assert journal.depth() == 0
        assert list(journal.replay()) == []
        assert journal.append({"seq": 20}) == 21
        assert [offset for offset, _ in journal.replay()] == [21]


def test_journal_with_partial_ack_keeps_segments_holding_unacked_entries(tmp_path: Path) -> None:
    with Journal(tmp_path, segment_bytes=100) as journal:
        for seq in range(20):
            journal.append({"seq": seq})
        journal.flush()
        journal.ack(7)
        firsts = [int(path.stem) for path in _segments(tmp_path)]
        assert firsts[0] <= 8
        assert [offset for offset, _ in journal.replay()] == list(range(8, 21))


def test_journal_with_ack_ahead_of_disk_never_reuses_offsets(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        for seq in range(5):
            journal.append({"seq": seq})
        journal.ack(5)  # acked before the commit thread wrote them (the database has them)
    (tmp_path / "checkpoint").write_text(json.dumps({"acked": 8}))
    with Journal(tmp_path) as journal:
        assert journal.append({"seq": 8}) == 9
        assert [offset for offset, _ in journal.replay()] == [9]


def test_journal_with_group_commit_is_durable_well_within_50_ms(tmp_path: Path) -> None:
    durable: list[tuple[int, int]] = []
    with Journal(
        tmp_path, fsync_interval_ms=20, on_durable=lambda a, b: durable.append((a, b))
    ) as journal:
        waits: list[float] = []
        for seq in range(20):
            started = time.monotonic()
            offset = journal.append({"seq": seq})
            assert journal.wait_durable(offset, timeout=2.0)
            waits.append(time.monotonic() - started)
            time.sleep(0.002)
        assert journal.durable_offset() == 20
        # loose bound (shared CI machine): the median wait is far below a second
        assert sorted(waits)[len(waits) // 2] < 0.5
    assert durable[-1][1] == 20
    assert durable[0][0] == 1


def test_journal_with_background_commit_reaches_disk_without_flush(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync_interval_ms=5) as journal:
        journal.append({"seq": 0})
        deadline = time.monotonic() + 2.0
        while journal.durable_offset() < 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert journal.durable_offset() == 1
        assert _segments(tmp_path)[-1].stat().st_size > 0


def test_journal_with_second_opener_refuses_it(tmp_path: Path) -> None:
    with Journal(tmp_path), pytest.raises(JournalError, match="in use by another process"):
        Journal(tmp_path)


def test_journal_with_nan_record_refuses_it_with_a_clear_message(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        with pytest.raises(ValueError, match="not plain finite JSON"):
            journal.append({"delta": float("nan")})
        assert journal.last_offset() == 0


def test_journal_with_closed_journal_refuses_appends(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.append({"seq": 0})
