"""ALO engine: the exercise boundary solved once per ``(T, r, q, sigma)`` within a batch.

``alo_put`` keeps the last boundary it solved (in units of the strike) and reuses it for the
next option of the same thread's chunk when ``T, r, q, sigma`` (after the call-to-put mapping)
are the same. These tests check that a batch gives exactly the values of pricing each option
alone, whatever the order, so that a stale boundary can never leak into another option.
"""

from __future__ import annotations

import numpy as np
import pytest

from riskdesk.pricing._american import american_greeks, american_price

_ENGINE = "alo_qdplus"


def _c(values: object) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64))


def _one_at_a_time(columns: list[np.ndarray], is_call: np.ndarray) -> np.ndarray:
    return np.array(
        [
            american_price(*(_c([c[i]]) for c in columns), is_call[i : i + 1].copy(), _ENGINE)[0]
            for i in range(is_call.shape[0])
        ]
    )


def _grouped_book() -> tuple[list[np.ndarray], np.ndarray]:
    """Three boundary keys, each at several spots and strikes, calls and puts, mixed order."""
    keys = [(0.5, 0.05, 0.02, 0.25), (2.0, 0.08, 0.0, 0.4), (0.1, 0.03, 0.06, 0.15)]
    rows = []
    for T, r, q, v in keys:
        for S in (70.0, 95.0, 100.0, 130.0):
            for K in (90.0, 110.0):
                for call in (False, True):
                    rows.append((S, K, T, r, q, v, call))
    order = np.random.default_rng(5).permutation(len(rows))
    grouped = sorted(rows, key=lambda x: (x[2], x[6]))  # long runs sharing a boundary
    mixed = [rows[i] for i in order]  # the key changes almost every option
    book = grouped + mixed
    columns = [_c([row[k] for row in book]) for k in range(6)]
    return columns, np.array([row[6] for row in book], dtype=bool)


def test_alo_with_runs_of_shared_boundary_inputs_matches_one_option_at_a_time() -> None:
    columns, is_call = _grouped_book()

    got = american_price(*columns, is_call, _ENGINE)

    np.testing.assert_array_equal(got, _one_at_a_time(columns, is_call))


def test_alo_with_inputs_differing_only_in_volatility_or_rate_recomputes_the_boundary() -> None:
    # consecutive options whose boundary keys differ in one input each, by a little
    base = (100.0, 100.0, 1.0, 0.05, 0.03, 0.3)
    bumps = [(5, 1e-6), (5, 0.0), (3, 1e-6), (4, 1e-6), (2, 1e-6), (5, -1e-6), (0, 1.0)]
    rows = []
    for _ in range(40):  # enough options that every thread's chunk holds several
        for idx, h in bumps:
            row = list(base)
            row[idx] += h
            rows.append(row)
    columns = [_c([row[k] for row in rows]) for k in range(6)]
    is_call = np.zeros(len(rows), dtype=bool)

    got = american_price(*columns, is_call, _ENGINE)

    np.testing.assert_array_equal(got, _one_at_a_time(columns, is_call))
    assert len(set(got[: len(bumps) - 1].tolist())) == len(bumps) - 1  # each key moves it


def test_greeks_with_alo_batch_match_differences_of_single_option_prices() -> None:
    # the Greeks' stencil shares the boundary between its spot bumps; the volatility, time
    # and rate bumps must each get their own (checked against prices of one option per call,
    # which share nothing)
    rng = np.random.default_rng(11)
    n = 6
    S = _c(rng.uniform(70.0, 130.0, n))
    K = _c(np.full(n, 100.0))
    T = _c(rng.uniform(0.1, 2.0, n))
    r = _c(rng.uniform(0.02, 0.08, n))
    q = _c(rng.uniform(0.0, 0.06, n))
    sigma = _c(rng.uniform(0.1, 0.6, n))
    is_call = np.array([True, False] * (n // 2))

    got = american_greeks(S, K, T, r, q, sigma, is_call, _ENGINE, ("delta", "vega", "rho"))

    def single(i: int, dS: float = 0.0, dv: float = 0.0, dr: float = 0.0) -> float:
        cols = [_c([S[i] + dS]), _c([K[i]]), _c([T[i]]), _c([r[i] + dr]), _c([q[i]])]
        return float(
            american_price(*cols, _c([sigma[i] + dv]), is_call[i : i + 1].copy(), _ENGINE)[0]
        )

    for i in range(n):
        h_s, h_v, h_r = 2e-3 * S[i], 1e-3, 1e-4
        delta = (single(i, dS=h_s) - single(i, dS=-h_s)) / (2.0 * h_s)
        vega = 0.01 * (single(i, dv=h_v) - single(i, dv=-h_v)) / (2.0 * h_v)
        rho = 0.01 * (single(i, dr=h_r) - single(i, dr=-h_r)) / (2.0 * h_r)
        assert got["delta"][i] == pytest.approx(delta, rel=1e-3, abs=1e-5), i
        assert got["vega"][i] == pytest.approx(vega, rel=1e-4, abs=1e-7), i
        assert got["rho"][i] == pytest.approx(rho, rel=1e-4, abs=1e-7), i
