"""Vectorized Brent root refinement (Brent-Dekker, as in scipy's ``brentq``).

:func:`brentq_many` refines many brackets at once: every iteration evaluates the function
once on the vector of current iterates, so a P/L function backed by a pricing kernel costs one
kernel call per iteration for all roots instead of one per root and iteration. The step logic
is scipy's ``brentq.c`` (inverse quadratic interpolation or secant when it makes a short
enough step, bisection otherwise) applied elementwise; the stopping rule is the same
(``|bracket half-width| < (xtol + rtol |x|) / 2`` or an exact zero).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from riskdesk.analytics._common import FloatArray

__all__ = ["brentq_many", "sign_change_roots"]

_RTOL = 4.0 * float(np.finfo(float).eps)


def brentq_many(
    func: Callable[[FloatArray], FloatArray],
    a: FloatArray,
    b: FloatArray,
    fa: FloatArray,
    fb: FloatArray,
    *,
    xtol: float = 1e-12,
    rtol: float = _RTOL,
    maxiter: int = 100,
) -> FloatArray:
    """Roots of ``func`` in the brackets ``[a_i, b_i]`` (``fa_i * fb_i <= 0``).

    ``func`` maps a 1-D array of points to the function values there; ``fa``/``fb`` are the
    known values at the bracket ends.
    """
    xpre = np.asarray(a, dtype=np.float64).copy()
    xcur = np.asarray(b, dtype=np.float64).copy()
    fpre = np.asarray(fa, dtype=np.float64).copy()
    fcur = np.asarray(fb, dtype=np.float64).copy()
    n = xcur.size
    if n == 0:
        return xcur
    if np.any(fpre * fcur > 0.0):
        raise ValueError("brentq_many needs brackets with a sign change")
    xblk = np.zeros(n)
    fblk = np.zeros(n)
    spre = np.zeros(n)
    scur = np.zeros(n)
    done = (fpre == 0.0) | (fcur == 0.0)
    xcur = np.where(fpre == 0.0, xpre, xcur)
    for _ in range(maxiter):
        active = ~done
        if not np.any(active):
            break
        flip = active & (fpre != 0.0) & (fcur != 0.0) & (np.signbit(fpre) != np.signbit(fcur))
        xblk = np.where(flip, xpre, xblk)
        fblk = np.where(flip, fpre, fblk)
        spre = np.where(flip, xcur - xpre, spre)
        scur = np.where(flip, xcur - xpre, scur)
        swap = active & (np.abs(fblk) < np.abs(fcur))
        xpre = np.where(swap, xcur, xpre)
        xcur = np.where(swap, xblk, xcur)
        xblk = np.where(swap, xpre, xblk)
        fpre = np.where(swap, fcur, fpre)
        fcur = np.where(swap, fblk, fcur)
        fblk = np.where(swap, fpre, fblk)
        delta = (xtol + rtol * np.abs(xcur)) / 2.0
        sbis = (xblk - xcur) / 2.0
        finished = active & ((fcur == 0.0) | (np.abs(sbis) < delta))
        done = done | finished
        active = ~done
        if not np.any(active):
            break
        interpolate = active & (np.abs(spre) > delta) & (np.abs(fcur) < np.abs(fpre))
        with np.errstate(divide="ignore", invalid="ignore"):
            secant = -fcur * (xcur - xpre) / (fcur - fpre)
            dpre = (fpre - fcur) / (xpre - xcur)
            dblk = (fblk - fcur) / (xblk - xcur)
            iqi = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
        stry = np.where(xpre == xblk, secant, iqi)
        good = (
            interpolate
            & np.isfinite(stry)
            & (2.0 * np.abs(stry) < np.minimum(np.abs(spre), 3.0 * np.abs(sbis) - delta))
        )
        new_spre = np.where(good, scur, sbis)
        new_scur = np.where(good, stry, sbis)
        spre = np.where(active, new_spre, spre)
        scur = np.where(active, new_scur, scur)
        xpre = np.where(active, xcur, xpre)
        fpre = np.where(active, fcur, fpre)
        step = np.where(np.abs(scur) > delta, scur, np.where(sbis > 0.0, delta, -delta))
        xcur = np.where(active, xcur + step, xcur)
        idx = np.nonzero(active)[0]
        fcur[idx] = func(xcur[idx])
    return xcur


def sign_change_roots(
    nodes: FloatArray,
    values: FloatArray,
    func: Callable[[FloatArray], FloatArray],
    *,
    xtol: float = 1e-12,
) -> list[float]:
    """Zeros of a function known on sorted ``nodes``, refined with :func:`brentq_many`.

    Exact zeros at nodes are kept (a run of consecutive zero nodes is reported by its two end
    points); every strict sign change between neighbours is refined.
    """
    roots: list[float] = []
    zero = values == 0.0
    n = nodes.size
    for i in np.nonzero(zero)[0]:
        inner = 0 < i < n - 1 and zero[i - 1] and zero[i + 1]
        if not inner:
            roots.append(float(nodes[i]))
    change = np.nonzero(values[:-1] * values[1:] < 0.0)[0]
    if change.size:
        refined = brentq_many(
            func, nodes[change], nodes[change + 1], values[change], values[change + 1], xtol=xtol
        )
        roots.extend(float(x) for x in refined)
    return sorted(roots)
