"""The HTML report: atomic writes and axis labels with units."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from riskdesk.reporting import html


def _evaluation() -> dict[str, Any]:
    spots = [540.0, 600.0, 660.0]
    return {
        "grid": {
            "spots": {"SPY": spots},
            "spot_moves": [-10.0, 0.0, 10.0],
            "spot_range_kind": "PERCENT",
            "dates": ["2026-11-20T15:00:00Z", "2026-12-18T21:00:00Z"],
            "vol_shifts": [-1.0, 0.0, 1.0],
        },
        "curves": {
            "spot_time_pl": [[-60.0, 0.0, 60.0], [-59.0, 1.0, 61.0]],
            "expiry_pl": [-58.0, 2.0, 62.0],
            "spot_vol_pl": [[-61.0, -1.0, 59.0], [-60.0, 0.0, 60.0], [-59.0, 1.0, 61.0]],
        },
    }


def test_risk_graph_with_spot_grid_labels_dollars_and_utc_dates() -> None:
    fig = html.risk_graph(_evaluation(), "t")
    assert fig.layout.xaxis.title.text == "SPY spot ($)"
    assert fig.layout.yaxis.title.text == "P/L ($)"
    names = [trace.name for trace in fig.data]
    assert names[0] == "T+0 (2026-11-20 15:00 UTC)"
    assert names[1] == "2026-12-18 21:00 UTC"


def test_spot_vol_heatmap_with_vol_shifts_labels_vol_points() -> None:
    fig = html.spot_vol_heatmap(_evaluation(), "t")
    assert fig.layout.yaxis.title.text == "vol shift (vol points)"
    assert fig.layout.xaxis.title.text == "SPY spot ($)"


def test_risk_graph_with_sigma_moves_only_labels_sigmas() -> None:
    data = _evaluation()
    data["grid"]["spots"] = {}
    data["grid"]["spot_range_kind"] = "SIGMA"
    assert html.risk_graph(data, "t").layout.xaxis.title.text == "spot move (sigmas)"


def test_write_report_with_existing_report_replaces_it_atomically(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old report")
    path.chmod(0o644)
    reader = tmp_path / "held-by-a-reader"
    os.link(path, reader)  # a reader that opened the old report before the write

    html.write_report(path, title="new", subtitle="s", sections=[])

    assert "<h1>new</h1>" in path.read_text()
    assert reader.read_text() == "old report"  # renamed over, never rewritten in place
    assert path.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["held-by-a-reader", "report.html"]


def test_write_report_with_failing_write_keeps_old_report_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.html"
    path.write_text("old report")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        html.write_report(path, title="new", subtitle="s", sections=[])
    assert path.read_text() == "old report"
    assert os.listdir(tmp_path) == ["report.html"]
