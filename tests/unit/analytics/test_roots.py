from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from riskdesk.analytics._roots import brentq_many, sign_change_roots

_NODES = np.linspace(-6.0, 6.0, 241) + 1e-7


@settings(max_examples=50, deadline=None)
@given(
    roots=st.lists(st.floats(-5.0, 5.0), min_size=1, max_size=4, unique=True)
    .filter(lambda r: min(np.diff(sorted(r)), default=1.0) > 0.05)
    # a root exactly on a grid node gives f = 0 there: no strict sign change to bracket
    .filter(lambda r: min(abs(_NODES[:, None] - np.array(r)).min(axis=0)) > 1e-6),
    scale=st.floats(0.1, 10.0),
)
def test_brentq_many_with_polynomial_brackets_matches_scipy_brentq(roots, scale):
    def f(x):
        x = np.asarray(x, dtype=float)
        return scale * np.prod([x - r for r in roots], axis=0) * (1.0 + 0.1 * x * x)

    nodes = _NODES
    values = f(nodes)
    change = np.nonzero(values[:-1] * values[1:] < 0.0)[0]

    got = brentq_many(f, nodes[change], nodes[change + 1], values[change], values[change + 1])

    expected = [brentq(lambda x: float(f(x)), nodes[i], nodes[i + 1], xtol=1e-12) for i in change]
    np.testing.assert_allclose(got, expected, atol=1e-11)
    np.testing.assert_allclose(got, sorted(roots), atol=1e-9)


def test_brentq_many_with_exact_zero_at_bracket_end_returns_it():
    got = brentq_many(
        lambda x: x - 1.0,
        np.array([1.0, 0.0]),
        np.array([2.0, 3.0]),
        np.array([0.0, -1.0]),
        np.array([1.0, 2.0]),
    )

    assert got.tolist() == pytest.approx([1.0, 1.0], abs=1e-12)


def test_brentq_many_with_same_sign_bracket_raises():
    with pytest.raises(ValueError, match="sign change"):
        brentq_many(lambda x: x, np.array([1.0]), np.array([2.0]), np.array([1.0]), np.array([2.0]))


def test_sign_change_roots_with_flat_zero_run_reports_end_points_and_crossings():
    nodes = np.linspace(-3.0, 3.0, 13)

    def f(x):
        x = np.asarray(x, dtype=float)
        return np.where(np.abs(x) <= 1.0, 0.0, np.where(x > 0, x - 1.0, -(x + 1.0)) * (x - 2.2))

    roots = sign_change_roots(nodes, f(nodes), f)

    assert roots == pytest.approx([-1.0, 1.0, 2.2], abs=1e-10)
