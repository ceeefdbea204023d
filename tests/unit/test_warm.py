"""``python -m riskdesk.warm`` compiles every kernel family into numba's on-disk cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # compiles everything when the cache is cold

ENTRY_KERNELS = (
    "_european.european_kernel-",
    "_iv.implied_vol_kernel-",
    "_american_kernels.price_batch-",
    "_american_kernels.iv_batch-",
    "_scenario.european_scenario_prices-",
    "_scenario.american_bs2002_scenario_prices-",
    "_dividends.escrow_kernel-",
)


def test_warm_with_the_run_cache_leaves_every_entry_kernel_in_it() -> None:
    # Arrange: the cache the test run uses (scripts/test.sh sets it), else numba's default
    cache = os.environ.get("NUMBA_CACHE_DIR")
    if not cache:
        pytest.skip("NUMBA_CACHE_DIR is not set: numba caches beside the sources")

    # Act
    run = subprocess.run(
        [sys.executable, "-m", "riskdesk.warm", "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    # Assert
    assert run.returncode == 0, run.stdout + run.stderr
    assert all(f"{part} " in run.stdout for part in ("european", "american"))
    indexes = [p.name for p in Path(cache).rglob("*.nbi")]
    missing = [k for k in ENTRY_KERNELS if not any(name.startswith(k) for name in indexes)]
    assert missing == []
