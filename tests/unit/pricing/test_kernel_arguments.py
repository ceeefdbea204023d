"""Read-only inputs reach the numba kernels as writable arrays: one compiled version each.

numba types a read-only array apart from a writable one, so a frozen input (a broadcast view,
an Arrow column seen zero-copy) used to compile a whole kernel a second time.
"""

from __future__ import annotations

import numpy as np
from numba import types

from riskdesk.analytics.revalue import BookScenarios, OptionBook, revalue_book
from riskdesk.pricing import _european, _scenario, implied_vol, price


def _frozen(values: list[float]) -> np.ndarray:
    out = np.array(values)
    out.setflags(write=False)
    return out


def _readonly_signatures(*dispatchers: object) -> list[str]:
    """The compiled signatures (in this process) that take a read-only array."""
    return [
        str(sig)
        for d in dispatchers
        for sig in d.signatures  # type: ignore[attr-defined]
        if any(isinstance(t, types.Array) and not t.mutable for t in sig)
    ]


def test_price_with_frozen_inputs_matches_writable_inputs_and_adds_no_readonly_kernel() -> None:
    # Arrange
    S, K = _frozen([90.0, 100.0, 110.0]), _frozen([100.0, 100.0, 100.0])
    T = np.broadcast_to(np.array(0.5), (3,))  # a read-only broadcast view
    writable = {"S": S.copy(), "K": K.copy(), "T": np.full(3, 0.5)}

    # Act
    frozen_px = price(model="bsm", S=S, K=K, T=T, r=0.03, q=0.01, sigma=0.2, is_call=True)
    plain_px = price(model="bsm", r=0.03, q=0.01, sigma=0.2, is_call=True, **writable)
    iv = implied_vol(model="bsm", price=frozen_px, S=S, K=K, T=T, r=0.03, q=0.01, is_call=True)

    # Assert
    assert frozen_px.tolist() == plain_px.tolist()
    np.testing.assert_allclose(iv.iv, 0.2, rtol=1e-12)
    assert (
        _readonly_signatures(
            _european.european_kernel, _european.european_kernel_serial, _european.validate_kernel
        )
        == []
    )


def test_revalue_book_with_frozen_arrays_adds_no_readonly_scenario_kernel() -> None:
    # Arrange: every array the caller hands over is frozen
    n = 8
    book = OptionBook(
        underlyings=("A",),
        spot=_frozen([100.0]),
        underlying_index=np.zeros(n, dtype=np.int64),
        strike=_frozen([90.0, 95.0, 100.0, 105.0, 110.0, 100.0, 95.0, 105.0]),
        time_to_expiry=_frozen([0.5] * n),
        vol=_frozen([0.2] * n),
        is_call=np.array([True, False] * 4),
        american=np.array([False] * 4 + [True] * 4),
        position=_frozen([1.0] * n),
        rate=0.03,
        carry=_frozen([0.01]),
    )
    scenarios = BookScenarios(spot_shocks=_frozen([-0.1, 0.0, 0.1]), vol_shocks=_frozen([0.0] * 3))

    # Act
    result = revalue_book(book, scenarios)

    # Assert
    assert np.all(np.isfinite(result.values))
    assert (
        _readonly_signatures(
            _scenario.european_scenario_prices, _scenario.american_bs2002_scenario_prices
        )
        == []
    )
