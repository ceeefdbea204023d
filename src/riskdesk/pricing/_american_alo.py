"""Andersen-Lake-Offengenden (2016) American put engine ("alo_qdplus"), numba kernels.

L. Andersen, M. Lake, D. Offengenden, "High-performance American option pricing", Journal of
Computational Finance 20(1), 2016. The exercise boundary ``B(tau)`` of a put (``tau`` = time to
expiry) solves their fixed-point system FP-A

    B(tau) = K exp(-(r - q) tau) N(tau, B) / D(tau, B),
    N = phi(d-(tau, B(tau)/K)) / (sigma sqrt(tau))
        + r int_0^tau e^{r u} phi(d-(tau - u, B(tau)/B(u))) / (sigma sqrt(tau - u)) du,
    D = phi(d+(tau, B(tau)/K)) / (sigma sqrt(tau)) + Phi(d+(tau, B(tau)/K))
        + q int_0^tau e^{q u} [Phi(d+(tau - u, .)) + phi(d+(tau - u, .)) / (sigma sqrt(tau - u))] du,

and the price is the European put plus the early-exercise premium

    int_0^T [r K e^{-r t} Phi(-d-(t, S/B(T-t))) - q S e^{-q t} Phi(-d+(t, S/B(T-t)))] dt.

The scheme here:

* the boundary is carried as ``g = log(B / X) <= 0`` with ``X = K min(1, r/q)`` on the
  ``n + 1`` Chebyshev-Lobatto points ``z`` of ``sqrt(tau) = sqrt(T) (1 + z) / 2`` and
  interpolated as ``H = g^2`` by the Chebyshev polynomial through the nodes (``H = 0`` at
  ``tau = 0``), ALO's representation;
* the initial boundary is Li's (2005) QD+ approximation, solved by Halley's method at every
  node, each node starting from the previous one;
* ``m`` Newton iterations on ``g = F(g)`` where ``F`` is FP-A: the Jacobian of ``F`` is
  assembled exactly through the (fixed) interpolation weights, so the iteration converges
  quadratically -- two iterations from QD+ reach the discretisation floor, where plain
  fixed-point iterations (ALO's FP-A / FP-B') gain about one digit per sweep. The first
  iteration, whose error is dominated by the seed, uses a cheaper quadrature rule. The node
  nearest expiry keeps its QD+ value (QD+ is exact as ``tau -> 0``; there the Jacobian is
  unreliable and the premium hardly depends on it). Should the updates grow instead of
  shrink (very low volatility against a high carry, where the equation is stiff), the QD+
  boundary is used as it is;
* the boundary integrals are taken over ``theta`` with ``u = tau sin^2(theta)`` (``l``
  Gauss-Legendre points), which removes the ``1/sqrt(tau - u)`` singularity and makes the
  interpolation points ``sqrt(u/T)`` fixed multiples of the node position, so the
  interpolation onto them is a fixed matrix computed once per scheme; the price integral uses
  ``t = T sin^4(phi)`` (``p`` points), which also resolves the steep start of the integrand
  when the spot is near the boundary.

Only the single-boundary put (``r > 0``) comes here; calls use ``C(S, K, r, q) =
P(K, S, q, r)`` and the other regimes are routed by the caller.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from riskdesk.pricing._american_math import fast_norm_cdf, norm_cdf_pdf
from riskdesk.pricing._european import bsm_price_scalar

_INV_SQRT_2PI = 0.3989422804014327
_MAX_FIRST_STEP = 0.05  # a first Newton update of log(B) larger than this means divergence


class AloScheme(NamedTuple):
    """Nodes, weights and interpolation matrices of an ``(l, m, n, p)`` scheme.

    ``frac[i] = sqrt(tau_i / T)`` at the Chebyshev-Lobatto nodes. A quadrature rule is
    ``(fp, interp)``: ``fp`` rows are, per point ``j`` of ``theta``, ``u/tau = sin^2``,
    ``sqrt((tau-u)/tau) = cos``, ``1/cos``, ``w1`` (``int f du = tau sum w1 f``) and ``w2``
    (``int f/sqrt(tau-u) du = sqrt(tau) sum w2 f``); ``interp`` row ``(i-1)*l + j`` holds the
    Lagrange weights of node ``i``'s point ``j``. The first Newton iteration, whose error is
    dominated by the QD+ seed, uses the cheaper rule ``(fp1, interp1)`` of ``l_first``
    points; the later ones use ``(fp, interp)`` of ``l`` points.
    """

    l_first: int
    l: int  # noqa: E741 - ALO's symbol
    m: int
    n: int
    p: int
    frac: np.ndarray
    fp1: np.ndarray
    interp1: np.ndarray
    fp: np.ndarray
    interp: np.ndarray
    pr: np.ndarray  # (2, p): sqrt(t/T) = sin^2(phi_j); weights (int f dt = T sum w f)
    pr_interp: np.ndarray  # (p, n + 1): Lagrange weights at sqrt((T - t)/T)


def _lagrange_matrix(nodes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Barycentric Lagrange weights of the Chebyshev-Lobatto ``nodes`` at ``points``."""
    n = nodes.shape[0] - 1
    bw = np.array([(-1.0) ** k for k in range(n + 1)])
    bw[0] *= 0.5
    bw[n] *= 0.5
    out = np.zeros((points.shape[0], n + 1))
    for a, x in enumerate(points):
        diff = x - nodes
        hit = np.flatnonzero(np.abs(diff) < 1e-15)
        if hit.size:
            out[a, hit[0]] = 1.0
            continue
        t = bw / diff
        out[a] = t / t.sum()
    return out


def _nodes(n: int) -> np.ndarray:
    """Chebyshev-Lobatto points ``z_0 = -1 (tau = 0) < ... < z_n = 1 (tau = T)``."""
    return -np.cos(np.pi * np.arange(n + 1) / n)


def _rule(l: int, n: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: E741 - ALO's symbol
    """Boundary-integral quadrature of ``l`` points on every node of an ``n``-interval grid."""
    z = _nodes(n)
    frac = 0.5 * (1.0 + z)
    y, w = np.polynomial.legendre.leggauss(l)
    theta = 0.25 * np.pi * (y + 1.0)
    w = 0.25 * np.pi * w
    s, c = np.sin(theta), np.cos(theta)
    fp = np.stack([s * s, c, 1.0 / c, w * 2.0 * s * c, w * 2.0 * s])
    interp = np.empty((n * l, n + 1))
    for i in range(1, n + 1):
        interp[(i - 1) * l : i * l] = _lagrange_matrix(z, 2.0 * frac[i] * s - 1.0)
    return np.ascontiguousarray(fp), np.ascontiguousarray(interp)


def make_scheme(*, l_first: int, l: int, m: int, n: int, p: int) -> AloScheme:  # noqa: E741
    """Build the fixed arrays of a scheme (ALO's ``(l, m, n, p)``, plus ``l_first``)."""
    if m < 1:
        raise ValueError(f"m={m}: at least one Newton iteration is needed")
    frac = 0.5 * (1.0 + _nodes(n))
    fp1, interp1 = _rule(l_first, n)
    fp, interp = _rule(l, n)
    y, w = np.polynomial.legendre.leggauss(p)
    phi = 0.25 * np.pi * (y + 1.0)
    w = 0.25 * np.pi * w
    sp, cp = np.sin(phi), np.cos(phi)
    pr = np.stack([sp * sp, w * 4.0 * sp**3 * cp])
    pr_interp = _lagrange_matrix(_nodes(n), 2.0 * np.sqrt(1.0 - sp**4) - 1.0)
    arr = np.ascontiguousarray
    return AloScheme(
        l_first=l_first,
        l=l,
        m=m,
        n=n,
        p=p,
        frac=arr(frac),
        fp1=fp1,
        interp1=interp1,
        fp=fp,
        interp=interp,
        pr=arr(pr),
        pr_interp=arr(pr_interp),
    )


def work_size(scheme: AloScheme) -> int:
    """Length of the scratch buffer one option needs."""
    n = scheme.n
    lmax = max(scheme.l, scheme.l_first)
    return 3 * (n + 1) + 5 * (n + 1) + n * lmax + n * n + 3 * lmax


@njit(cache=True, nogil=True, error_model="numpy")
def qdplus_boundary(
    K: float, r: float, q: float, sigma: float, tau: float, guess: float, xmax: float
) -> float:
    """Li's QD+ put exercise boundary at time to expiry ``tau`` (safeguarded Halley).

    Solves ``(1 - e^{-q tau} Phi(-d+)) S - beta (K - S - p) + A Theta = 0`` for ``S`` in
    ``(0, xmax]`` starting from ``guess``, where ``p`` and ``Theta`` are the European put and
    its calendar theta at ``S`` (Li's equation as restated by ALO, with its ``c0`` term).
    """
    s2 = sigma * sigma
    sqt = math.sqrt(tau)
    v = sigma * sqt
    dr = math.exp(-r * tau)
    dq = math.exp(-q * tau)
    h = -math.expm1(-r * tau)
    omega = 2.0 * (r - q) / s2
    sq = math.sqrt((omega - 1.0) ** 2 + 8.0 * r / (s2 * h))
    lam = 0.5 * (-(omega - 1.0) - sq)
    lam_p = 2.0 * r / (s2 * h * h * sq)
    alpha = -2.0 * dr * r / (s2 * sq)  # 2 lam + omega - 1 = -sq
    beta = alpha * (1.0 / h - lam_p / sq) - lam
    a_coef = -2.0 / (s2 * sq)  # alpha / (r dr)
    ln_fwd = math.log(dq / (K * dr))
    xmin = 1e-12 * K
    lo = xmin
    hi = xmax
    x = min(max(guess, xmin), xmax)
    for _ in range(60):
        dp = (math.log(x) + ln_fwd) / v + 0.5 * v
        dm = dp - v
        n_dp, pdf = norm_cdf_pdf(-dp)
        n_dm = fast_norm_cdf(-dm)
        put = dr * K * n_dm - x * dq * n_dp
        theta = r * K * dr * n_dm - q * x * dq * n_dp - 0.5 * sigma * x * dq * pdf / sqt
        charm = -dq * (pdf * ((r - q) / v - dm / (2.0 * tau)) + q * n_dp)
        gamma = pdf * dq / (v * x)
        colour = gamma * (q + (r - q) * dp / v + (1.0 - dp * dm) / (2.0 * tau))
        f = (1.0 - dq * n_dp) * x - beta * (K - x - put) + a_coef * theta
        f1 = (1.0 + beta) * (1.0 - dq * n_dp) + dq * pdf / v + a_coef * charm
        f2 = gamma * (1.0 - dp / v) + beta * gamma + a_coef * colour
        if f > 0.0:
            hi = x
        else:
            lo = x
        x_new = 0.5 * (lo + hi)
        step = 0.0
        if f1 > 0.0:
            step = f / f1
            denom = 1.0 - 0.5 * step * f2 / f1
            if denom > 0.5:
                step /= denom
            if lo < x - step < hi:
                x_new = x - step
        # QD+ only seeds Newton: once a Halley step is below 1e-3 (relative) the error left
        # after it is ~1e-9 (cubic convergence), so it is accepted without another check.
        if abs(step) <= 1e-3 * x and x_new == x - step:
            return x_new
        if abs(x_new - x) <= 1e-15 * x:
            return x_new
        x = x_new
    return x


@njit(cache=True, nogil=True, error_model="numpy")
def _lu_factor(a: np.ndarray, piv: np.ndarray, n: int) -> None:
    """In-place LU factorisation with partial pivoting of the row-major ``n x n`` ``a``."""
    for col in range(n):
        best = abs(a[col * n + col])
        p = col
        for row in range(col + 1, n):
            v = abs(a[row * n + col])
            if v > best:
                best = v
                p = row
        piv[col] = p
        if p != col:
            for k in range(n):
                t = a[col * n + k]
                a[col * n + k] = a[p * n + k]
                a[p * n + k] = t
        d = a[col * n + col]
        if d == 0.0:
            continue
        inv = 1.0 / d
        for row in range(col + 1, n):
            fac = a[row * n + col] * inv
            a[row * n + col] = fac
            if fac != 0.0:
                for k in range(col + 1, n):
                    a[row * n + k] -= fac * a[col * n + k]


@njit(cache=True, nogil=True, error_model="numpy")
def _lu_solve(a: np.ndarray, piv: np.ndarray, b: np.ndarray, n: int) -> None:
    """Solve with the factors of ``_lu_factor``; the solution overwrites ``b``."""
    for col in range(n):
        p = int(piv[col])
        if p != col:
            t = b[col]
            b[col] = b[p]
            b[p] = t
        for row in range(col + 1, n):
            b[row] -= a[row * n + col] * b[col]
    for col in range(n - 1, -1, -1):
        acc = b[col]
        for k in range(col + 1, n):
            acc -= a[col * n + k] * b[k]
        d = a[col * n + col]
        b[col] = acc / d if d != 0.0 else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _qdplus_seed(
    K: float,
    r: float,
    q: float,
    sigma: float,
    T: float,
    xmax: float,
    frac: np.ndarray,
    g: np.ndarray,
) -> None:
    """``g = log(B_QD+ / X)`` at the nodes, short to long expiry, each from the previous."""
    g[0] = 0.0
    for i in range(1, frac.shape[0]):
        guess = 0.0
        if i >= 3:
            # linear extrapolation of log(B/X) in sqrt(tau) from the two previous nodes
            slope = (g[i - 1] - g[i - 2]) / (frac[i - 1] - frac[i - 2])
            guess = g[i - 1] + slope * (frac[i] - frac[i - 1])
        elif i == 2:
            guess = g[1]
        b = qdplus_boundary(
            K, r, q, sigma, T * frac[i] * frac[i], xmax * math.exp(min(guess, 0.0)), xmax
        )
        g[i] = min(math.log(b / xmax), 0.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _newton(
    K: float,
    r: float,
    q: float,
    sigma: float,
    T: float,
    xmax: float,
    frac: np.ndarray,
    fp: np.ndarray,
    interp: np.ndarray,
    n_iter: int,
    g: np.ndarray,
    work: np.ndarray,
) -> float:
    """``n_iter`` Newton iterations on ``g = F(g)`` (FP-A), in place on ``g``.

    Returns the largest node update of the last iteration (NaN if it broke down).
    """
    n = frac.shape[0] - 1
    nl = fp.shape[1]
    n1 = n + 1
    sq_t = math.sqrt(T)
    ln_xk = math.log(xmax / K)
    ln_kx = -ln_xk
    carry = r - q
    inv_sig = 1.0 / sigma
    gp = work[0:n1]  # F(g)
    hsq = work[n1 : 2 * n1]  # g^2
    jrow = work[2 * n1 : 3 * n1]
    rhs = work[3 * n1 : 4 * n1]
    piv = work[4 * n1 : 5 * n1]
    o = 5 * n1
    eq = work[o : o + n * nl]  # e^{q u} at the quadrature points
    o += n * nl
    jac = work[o : o + n * n]  # I - J, then its LU factors
    o += n * n
    t_dn = work[o : o + nl]  # d num / d lr_j
    t_dd = work[o + nl : o + 2 * nl]  # d den / d lr_j
    t_gu = work[o + 2 * nl : o + 3 * nl]  # interpolated g at the quadrature points
    fp_a = fp[0]
    fp_c = fp[1]
    fp_ic = fp[2]
    fp_w1 = fp[3]
    fp_w2 = fp[4]
    for i in range(1, n1):
        ti = T * frac[i] * frac[i]
        for j in range(nl):
            u = ti * fp_a[j]
            eq[(i - 1) * nl + j] = math.exp(q * u)
    for _ in range(n_iter):
        for k in range(n1):
            hsq[k] = g[k] * g[k]
        # node 1 (nearest expiry) keeps its QD+ value: see the module docstring
        for i in range(2, n1):
            xi = sq_t * frac[i]
            ti = xi * xi
            v = sigma * xi
            inv_v = 1.0 / v
            gi = g[i]
            ct = carry * ti
            dp = (gi + ln_xk + ct) * inv_v + 0.5 * v
            dm = dp - v
            cdp, pdp = norm_cdf_pdf(dp)
            pdm = pdp * math.exp(gi + ln_xk + ct)  # phi(d-) = phi(d+) (B/K) e^{(r-q) tau}
            num = pdm * inv_v
            den = pdp * inv_v + cdp
            rn = r * xi * inv_sig
            qd = q * xi * inv_sig
            qt = q * ti
            base = (i - 1) * nl
            for j in range(nl):
                row = base + j
                acc = 0.0
                for k in range(1, n1):  # H = 0 at tau = 0
                    acc += interp[row, k] * hsq[k]
                gu = -math.sqrt(max(acc, 0.0))
                c = fp_c[j]
                inv_vv = inv_v * fp_ic[j]
                vv = v * c
                s = ct * c * c
                lr = gi - gu  # log(B(tau_i) / B(u_j))
                dpj = (lr + s) * inv_vv + 0.5 * vv
                cpj, pp = norm_cdf_pdf(dpj)
                # phi(d-) e^{r u} = phi(d+) (B(tau)/B(u)) e^{(r-q)(tau-u)} e^{r u}
                pm = pp * math.exp(lr + s + r * ti * fp_a[j])
                wn = rn * fp_w2[j]
                wq1 = qt * fp_w1[j] * eq[row]
                wq2 = qd * fp_w2[j] * eq[row]
                num += wn * pm
                den += wq1 * cpj + wq2 * pp
                t_dn[j] = -wn * (dpj - vv) * pm * inv_vv
                t_dd[j] = (wq1 - wq2 * dpj) * pp * inv_vv
                t_gu[j] = gu
            gp[i] = math.log(num / den) - ct + ln_kx
            # row i of J = dF_i/dg_k: directly through d(tau, B/K), and through
            # lr_j = g_i - gu_j with gu_j = -sqrt(sum_k L_jk g_k^2)
            inv_n = 1.0 / num
            inv_d = 1.0 / den
            diag = (-dm * pdm * inv_v * inv_n - (pdp - dp * pdp * inv_v) * inv_d) * inv_v
            for k in range(n1):
                jrow[k] = 0.0
            for j in range(nl):
                e = t_dn[j] * inv_n - t_dd[j] * inv_d  # dF_i / d lr_j
                diag += e
                gu = t_gu[j]
                if gu < -1e-300:
                    fac = -e / gu
                    row = base + j
                    for k in range(1, n1):
                        jrow[k] += fac * interp[row, k]
            for k in range(1, n1):
                jac[(i - 1) * n + (k - 1)] = -jrow[k] * g[k]
            jac[(i - 1) * n + (i - 1)] += 1.0 - diag
        for i in range(1, n):
            rhs[i] = gp[i + 1] - g[i + 1]
        for k in range(n):  # identity row: node 1 is not updated
            jac[k] = 0.0
        jac[0] = 1.0
        rhs[0] = 0.0
        _lu_factor(jac, piv, n)
        _lu_solve(jac, piv, rhs, n)
        step = 0.0
        for i in range(1, n1):
            step = max(step, abs(rhs[i - 1]))
            if not math.isfinite(rhs[i - 1]):
                step = math.nan
            g[i] = min(g[i] + rhs[i - 1], 0.0)
    return step


@njit(cache=True, nogil=True, error_model="numpy")
def _premium(
    S: float,
    K: float,
    T: float,
    r: float,
    q: float,
    sigma: float,
    xmax: float,
    g: np.ndarray,
    pr: np.ndarray,
    pr_interp: np.ndarray,
    hsq: np.ndarray,
) -> float:
    """Early-exercise premium of the put for the boundary ``g`` on the fine nodes."""
    n1 = g.shape[0]
    for k in range(n1):
        hsq[k] = g[k] * g[k]
    sq_t = math.sqrt(T)
    carry = r - q
    ln_sx = math.log(S / xmax)
    eep = 0.0
    for j in range(pr.shape[1]):
        acc = 0.0
        for k in range(n1):
            acc += pr_interp[j, k] * hsq[k]
        st = sq_t * pr[0, j]
        t = st * st
        vt = sigma * st
        dp = (ln_sx + math.sqrt(max(acc, 0.0)) + carry * t) / vt + 0.5 * vt
        eep += pr[1, j] * (
            r * K * math.exp(-r * t) * fast_norm_cdf(vt - dp)
            - q * S * math.exp(-q * t) * fast_norm_cdf(-dp)
        )
    return T * eep


@njit(cache=True, nogil=True, error_model="numpy")
def alo_put(
    S: float,
    K: float,
    T: float,
    r: float,
    q: float,
    sigma: float,
    frac: np.ndarray,
    fp1: np.ndarray,
    interp1: np.ndarray,
    fp: np.ndarray,
    interp: np.ndarray,
    pr: np.ndarray,
    pr_interp: np.ndarray,
    m: int,
    work: np.ndarray,
    last: np.ndarray,
) -> float:
    """American put for ``r > 0``, ``sigma > 0``, ``T > 0`` (any ``q``).

    ``work`` is scratch space of at least ``work_size(scheme)`` doubles. Returns NaN if the
    iteration broke down (the caller then uses its lattice fallback).

    The boundary is solved in units of the strike (``B / K`` depends on ``T, r, q, sigma``
    alone), and kept in ``work`` for the next call: ``last`` (5 doubles, ``last[0] = 0``
    before the first call) records ``(1, T, r, q, sigma)`` of the boundary held there, and
    a call with the same four inputs -- a spot bump, a grid of spots, another strike, the
    put side of a call -- reuses it and only integrates the premium (about 3% of the work).
    The caller must not touch ``work`` between such calls.
    """
    xr = min(1.0, r / q) if q > 0.0 else 1.0  # X / K
    xmax = K * xr
    n1 = frac.shape[0]
    g = work[0:n1]
    hsq = work[n1 : 2 * n1]
    if not (last[0] == 1.0 and last[1] == T and last[2] == r and last[3] == q and last[4] == sigma):
        last[0] = 0.0
        _boundary(r, q, sigma, T, xr, frac, fp1, interp1, fp, interp, m, work)
        last[1] = T
        last[2] = r
        last[3] = q
        last[4] = sigma
        last[0] = 1.0
    intrinsic = K - S
    boundary_at_t = xmax * math.exp(g[n1 - 1])
    if boundary_at_t >= S:  # spot in the exercise region
        return intrinsic
    european = bsm_price_scalar(S, K, T, r, q, sigma, False)
    eep = _premium(S, K, T, r, q, sigma, xmax, g, pr, pr_interp, hsq)
    if not math.isfinite(eep):
        return math.nan
    return max(european + eep, intrinsic, european)


@njit(cache=True, nogil=True, error_model="numpy")
def _boundary(
    r: float,
    q: float,
    sigma: float,
    T: float,
    xr: float,
    frac: np.ndarray,
    fp1: np.ndarray,
    interp1: np.ndarray,
    fp: np.ndarray,
    interp: np.ndarray,
    m: int,
    work: np.ndarray,
) -> None:
    """``g = log(B / X)`` of the unit-strike put at the nodes, into ``work[0 : n + 1]``."""
    n1 = frac.shape[0]
    g = work[0:n1]
    seed = work[2 * n1 : 3 * n1]
    scratch = work[3 * n1 :]
    _qdplus_seed(1.0, r, q, sigma, T, xr, frac, g)
    for k in range(n1):
        seed[k] = g[k]
    step1 = _newton(1.0, r, q, sigma, T, xr, frac, fp1, interp1, 1, g, scratch)
    converging = step1 < _MAX_FIRST_STEP
    if m > 1 and converging:
        step2 = _newton(1.0, r, q, sigma, T, xr, frac, fp, interp, m - 1, g, scratch)
        converging = step2 <= step1 or step2 < 1e-12
    if not converging:
        # Newton diverged (updates growing: very low volatility against the carry, where
        # the integral equation is stiff); QD+ alone is accurate there (< 1e-3 of strike).
        for k in range(n1):
            g[k] = seed[k]
