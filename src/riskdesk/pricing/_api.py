"""Public pricing API: :func:`price`, :func:`greeks`, :func:`implied_vol`.

Every function takes keyword arguments only, broadcasts them with numpy rules (scalars allowed)
and returns arrays of the broadcast shape (0-d for all-scalar input).  Scalars and already
contiguous ``float64`` arrays are passed to the kernels without copies.

Conventions
-----------
=========  ==================================================================================
Input      Meaning
=========  ==================================================================================
S          spot (``bsm``, ``bachelier``, ``american``) or forward (``black76``)
K          strike
T          time to expiry in years, ACT/365F (``T == 0`` gives the intrinsic value)
r          continuously compounded risk-free rate (decimal)
q          continuously compounded dividend / borrow yield (decimal); ignored by ``black76``
sigma      lognormal vol (decimal) for ``bsm``/``black76``/``american``; absolute normal vol
           in price units per sqrt(year) for ``bachelier``
is_call    ``True`` for calls, ``False`` for puts
=========  ==================================================================================

=========  ===================================  =============================================
Greek      Definition                           Unit
=========  ===================================  =============================================
price      V                                    currency
delta      dV/dS                                per 1 unit of the underlying
gamma      d2V/dS2                              per unit squared
vega       dV/dsigma                            per 1 vol point (x 0.01)
theta      dV/dt = -(1/365) dV/dT               per calendar day
rho        dV/dr                                per 1 rate point (x 0.01)
phi        dV/dq                                per 1 rate point (x 0.01); 0 for ``black76``
vanna      d2V/dS dsigma                        per unit, per vol point
volga      d2V/dsigma2                          per (vol point)^2 (x 1e-4)
charm      d delta / dt                         per calendar day
speed      d3V/dS3                              per unit cubed
color      d gamma / dt                         per calendar day
zomma      d gamma / dsigma                     per vol point
veta       d vega / dt                          vega-per-point per calendar day
=========  ===================================  =============================================

For ``black76`` rho is the derivative with respect to ``r`` of the discounted value with the
forward held fixed (``-T V``).  For ``bachelier`` the forward is ``S exp((r-q)T)``; to price on a
forward directly pass ``S=F, q=r``.

Bad inputs: :func:`price` and :func:`greeks` raise ``ValueError`` naming the field, the index,
the value and the rule (``S, K > 0`` except Bachelier, ``T >= 0``, ``sigma >= 0``, all finite,
``|r T|, |q T| <= 500``).  ``T == 0`` gives the intrinsic value with delta +-1 strictly in the
money (else 0) and every other Greek 0; ``sigma == 0`` gives the discounted forward intrinsic
value and the Greeks of that deterministic payoff (the ``sigma -> 0`` limits).  :func:`implied_vol` never raises for a bad element: each element carries a status.

Accuracy: European prices agree with a 60-digit mpmath reference to better than 1e-12 relative
and every Greek to better than 1e-9 relative (measured: 5e-13 and 1e-10) from 1 hour to 30 years,
vol 0.5%-500%, deep in and out of the money; relative error is taken against
``max(|value|, 1e-280 * F)`` (scaled by the Greek's power of the underlying), since values below
1e-280 of the forward approach the double underflow threshold.  Implied vols reprice to 1e-12 and
recover the vol to 1e-10 wherever the time value is at least 1e-10 of the forward and the price is
not within rounding of a bound (where no solver can do better than ``eps * price / vega``).

Discrete cash dividends (escrowed-dividend model): ``dividends=(times, amounts)`` with times in
years from today.  The last axis indexes the dividends; a 1-D pair is one schedule for every
option, higher-dimensional arrays broadcast against the options.  The spot is reduced by the
present value (at ``r``) of the dividends paid at ``0 <= t < T``; Greeks are with respect to the
quoted spot and rate, and time Greeks let the dividend dates approach with the expiry.

Examples
--------
Hull, *Options, Futures and Other Derivatives*, Example 15.6 (``S=42, K=40, r=10%,
sigma=20%, T=0.5``): call 4.76, put 0.81.

>>> from riskdesk.pricing import price
>>> price(model="bsm", S=42.0, K=40.0, T=0.5, r=0.1, q=0.0, sigma=0.2, is_call=[True, False]).round(2)
array([4.76, 0.81])

"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from riskdesk.pricing import _european as _eu
from riskdesk.pricing import _iv
from riskdesk.pricing._dividends import escrow_kernel
from riskdesk.pricing._status import INVALID_INPUT, NOT_CONVERGED, OK, STATUS_NAMES

MODELS: tuple[str, ...] = ("bsm", "black76", "bachelier", "american")
"""Accepted values of ``model``."""

AMERICAN_ENGINES: tuple[str, ...] = ("high_accuracy", "alo_qdplus", "bjerksund_stensland_2002")
"""Accepted values of ``engine`` (``model="american"``): ``"high_accuracy"`` (default; alias
``"alo_qdplus"``, the Andersen-Lake-Offengenden QD+ fixed-point engine) and
``"bjerksund_stensland_2002"``."""

GREEK_NAMES: tuple[str, ...] = _eu.GREEK_NAMES
"""Keys returned by :func:`greeks`, in order."""

_ENGINE_IMPL = {
    "high_accuracy": "alo_qdplus",
    "alo_qdplus": "alo_qdplus",
    "bjerksund_stensland_2002": "bjerksund_stensland_2002",
}
_MODEL_CODE = {"bsm": _eu.MODEL_BSM, "black76": _eu.MODEL_BLACK76, "bachelier": _eu.MODEL_BACHELIER}
_STATUS_ARRAY = np.array(STATUS_NAMES)
_SERIAL_MAX = 2048  # below this many options the single-threaded kernels are faster
_PT = 0.01
_DAY = 1.0 / 365.0

_FIELDS = ("S", "K", "T", "r", "q", "sigma")
_RULES = {
    _eu.BAD_S: ("S", "must be finite and > 0"),
    _eu.BAD_K: ("K", "must be finite and > 0"),
    _eu.BAD_T: ("T", "must be finite and >= 0 (years)"),
    _eu.BAD_R: ("r", f"must be finite with |r*T| <= {_eu.MAX_RATE_TIME:g}"),
    _eu.BAD_Q: ("q", f"must be finite with |q*T| <= {_eu.MAX_RATE_TIME:g}"),
    _eu.BAD_SIGMA: ("sigma", "must be finite and >= 0"),
}


@dataclass(frozen=True, slots=True)
class ImpliedVolResult:
    """Implied vols with one status per element.

    Attributes
    ----------
    iv:
        Implied vol (decimal lognormal vol; absolute normal vol for ``bachelier``); NaN exactly
        where ``code != 0``.
    status:
        Status name per element: ``ok``, ``below_intrinsic``, ``above_upper_bound``,
        ``no_time_value``, ``invalid_input`` or ``not_converged``.
    code:
        The same statuses as ``int8`` codes (:mod:`riskdesk.pricing._status`).

    """

    iv: NDArray[np.float64]
    status: NDArray[np.str_]
    code: NDArray[np.int8]

    @property
    def ok(self) -> NDArray[np.bool_]:
        """Mask of elements whose implied vol was found."""
        return np.asarray(self.code == OK)


@dataclass(frozen=True, slots=True)
class _Inputs:
    shape: tuple[int, ...]
    n: int
    flat: dict[str, NDArray[Any]]
    stride: dict[str, int]

    def strides(self, names: Sequence[str]) -> NDArray[np.int64]:
        return np.array([self.stride[k] for k in names], dtype=np.int64)

    def full(self, name: str) -> NDArray[Any]:
        """The input as a contiguous array of length ``n`` (materialises broadcast scalars)."""
        a = self.flat[name]
        if self.stride[name] == 1:
            return a
        return np.full(self.n, a[0], dtype=a.dtype)

    def value_at(self, name: str, i: int) -> Any:
        return self.flat[name][i * self.stride[name]].item()

    def where(self, name: str, i: int) -> str:
        if not self.shape:
            return name
        idx = np.unravel_index(i, self.shape)
        return f"{name}[{', '.join(str(int(j)) for j in idx)}]"


def kernel_array(a: NDArray[Any]) -> NDArray[Any]:
    """``a`` as a C-contiguous, writable array: a copy only when it is neither.

    numba compiles a kernel once per argument type, and a read-only array (a broadcast view,
    an Arrow column seen zero-copy, a caller's frozen array) is a type of its own: passing
    one compiled the whole kernel a second time (tens of seconds for the European kernel).
    The kernels never write their inputs; one type per input keeps one compiled version.
    """
    out = np.ascontiguousarray(a)
    return out if out.flags.writeable else out.copy()


def _as_float(name: str, value: ArrayLike) -> NDArray[np.float64]:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a real number or an array of real numbers ({exc})"
        ) from exc


def _as_bool(value: ArrayLike) -> NDArray[np.bool_]:
    arr = np.asarray(value)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind in "iu" and bool(np.all((arr == 0) | (arr == 1))):
        return arr.astype(np.bool_)
    raise ValueError("is_call must be bool (True for calls, False for puts) or 0/1 integers")


def _prepare(values: dict[str, ArrayLike], is_call: ArrayLike) -> _Inputs:
    arrays: dict[str, NDArray[Any]] = {k: _as_float(k, v) for k, v in values.items()}
    arrays["is_call"] = _as_bool(is_call)
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError as exc:
        shapes = ", ".join(f"{k}{a.shape}" for k, a in arrays.items())
        raise ValueError(f"inputs do not broadcast together: {shapes}") from exc
    n = int(np.prod(shape, dtype=np.int64))
    flat: dict[str, NDArray[Any]] = {}
    stride: dict[str, int] = {}
    for k, a in arrays.items():
        if a.size == 1:
            flat[k] = kernel_array(a.reshape(1))
            stride[k] = 0
        elif a.shape == shape:
            flat[k] = kernel_array(a).reshape(-1)
            stride[k] = 1
        else:
            flat[k] = kernel_array(np.broadcast_to(a, shape)).reshape(-1)
            stride[k] = 1
    return _Inputs(shape=tuple(shape), n=n, flat=flat, stride=stride)


def _check_model(model: str, engine: str | None) -> str | None:
    if model not in MODELS:
        raise ValueError(f"model={model!r} is not supported; use one of {MODELS}")
    if model == "american":
        name = "high_accuracy" if engine is None else engine
        if name not in _ENGINE_IMPL:
            raise ValueError(f"engine={engine!r} is not supported; use one of {AMERICAN_ENGINES}")
        return _ENGINE_IMPL[name]
    if engine is not None:
        raise ValueError(f"engine={engine!r} applies only to model='american', not {model!r}")
    return None


def _run(kernel: Callable[..., Any], *args: Any) -> Any:
    """Call a numba kernel with dynamic chunk claiming (chunk size 1, see :func:`_n_chunks`)."""
    with numba.parallel_chunksize(1):
        return kernel(*args)


def _n_chunks(n: int) -> int:
    """Work units for the ``prange`` kernels: many small chunks, claimed one at a time.

    With :func:`numba.parallel_chunksize` set to 1 by the callers, idle threads take the next
    chunk, so a thread slowed down by other load on a shared machine does not hold up the rest.
    """
    return max(1, min(n // 1024 + 1, 32 * numba.get_num_threads()))


def _raise_bad(inputs: _Inputs, bad: NDArray[np.int64], model: str) -> None:
    rows = bad[bad[:, 0] >= 0]
    if rows.shape[0] == 0:
        return
    i, code = (int(v) for v in rows[np.argmin(rows[:, 0])])
    field, rule = _RULES[code]
    if model == "bachelier" and field in ("S", "K"):
        rule = "must be finite"
    where = inputs.where(field, i)
    if model == "black76" and field == "S":
        where += " (the forward)"
    raise ValueError(f"{where} = {inputs.value_at(field, i)!r} is invalid: {rule}")


def _validate(inputs: _Inputs, model: str) -> None:
    code = _eu.MODEL_BACHELIER if model == "bachelier" else _eu.MODEL_BSM
    f = inputs.flat
    bad = _run(
        _eu.validate_kernel,
        code,
        f["S"],
        f["K"],
        f["T"],
        f["r"],
        f["q"],
        f["sigma"],
        inputs.strides(_FIELDS),
        inputs.n,
        _n_chunks(inputs.n),
    )
    _raise_bad(inputs, bad, model)


@dataclass(frozen=True, slots=True)
class _Escrow:
    spot: NDArray[np.float64]  # escrowed spot, length n
    pv: NDArray[np.float64]  # PV of dividends before expiry
    duration: NDArray[np.float64]  # sum D_j t_j exp(-r t_j) = d(escrowed spot)/dr


def _dividend_arrays(
    dividends: tuple[ArrayLike, ArrayLike], shape: tuple[int, ...]
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool]:
    try:
        times_in, amounts_in = dividends
    except (TypeError, ValueError) as exc:
        raise TypeError("dividends must be a (times, amounts) pair of arrays") from exc
    times = _as_float("dividend times", times_in)
    amounts = _as_float("dividend amounts", amounts_in)
    if times.ndim == 0 or amounts.ndim == 0:
        raise ValueError(
            "dividend times and amounts must be arrays whose last axis indexes the dividends"
        )
    try:
        times, amounts = np.broadcast_arrays(times, amounts)
    except ValueError as exc:
        raise ValueError(
            f"dividend times {times.shape} and amounts {amounts.shape} do not broadcast together"
        ) from exc
    if not bool(np.all(np.isfinite(times) & (times >= 0.0))):
        i = int(np.argmin(np.isfinite(times) & (times >= 0.0)))
        raise ValueError(
            f"dividend times[{i}] = {times.reshape(-1)[i].item()!r} is invalid: must be finite and >= 0 (years from today)"
        )
    if not bool(np.all(np.isfinite(amounts) & (amounts >= 0.0))):
        i = int(np.argmin(np.isfinite(amounts) & (amounts >= 0.0)))
        raise ValueError(
            f"dividend amounts[{i}] = {amounts.reshape(-1)[i].item()!r} is invalid: must be finite and >= 0"
        )
    m = times.shape[-1]
    if times.ndim == 1:
        return (
            kernel_array(times.reshape(1, m)),
            kernel_array(amounts.reshape(1, m)),
            False,
        )
    lead = times.shape[:-1]
    try:
        full = np.broadcast_shapes(lead, shape)
    except ValueError as exc:
        raise ValueError(
            f"dividend arrays {times.shape} do not broadcast against the options {shape}"
        ) from exc
    if full != shape:
        raise ValueError(f"dividend arrays {times.shape} would enlarge the option shape {shape}")
    t = kernel_array(np.broadcast_to(times, (*shape, m))).reshape(-1, m)
    a = kernel_array(np.broadcast_to(amounts, (*shape, m))).reshape(-1, m)
    return t, a, True


def _escrow(inputs: _Inputs, dividends: tuple[ArrayLike, ArrayLike]) -> _Escrow:
    times, amounts, per_option = _dividend_arrays(dividends, inputs.shape)
    n = inputs.n
    spot = np.empty(n)
    pv = np.empty(n)
    dur = np.empty(n)
    escrow_kernel(
        inputs.flat["S"],
        inputs.flat["r"],
        inputs.flat["T"],
        inputs.strides(("S", "r", "T")),
        times,
        amounts,
        1 if per_option else 0,
        n,
        spot,
        pv,
        dur,
    )
    return _Escrow(spot=spot, pv=pv, duration=dur)


def _with_spot(inputs: _Inputs, spot: NDArray[np.float64]) -> _Inputs:
    flat = dict(inputs.flat)
    stride = dict(inputs.stride)
    flat["S"] = spot
    stride["S"] = 1
    return _Inputs(shape=inputs.shape, n=inputs.n, flat=flat, stride=stride)


def _normalise_which(which: Sequence[str] | None) -> tuple[str, ...]:
    if which is None:
        return GREEK_NAMES
    if isinstance(which, str):
        which = (which,)
    names: list[str] = []
    for w in which:
        if w not in GREEK_NAMES:
            raise ValueError(f"unknown Greek {w!r} in which=; choose from {GREEK_NAMES}")
        if w not in names:
            names.append(w)
    return tuple(names)


# Greeks that need another Greek to be moved from the escrowed to the quoted spot.
_DIVIDEND_NEEDS = {
    "theta": "delta",
    "rho": "delta",
    "charm": "gamma",
    "color": "speed",
    "veta": "vanna",
}


def _evaluate(
    *,
    model: str,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    engine: str | None,
    dividends: tuple[ArrayLike, ArrayLike] | None,
    which: tuple[str, ...],
) -> dict[str, NDArray[np.float64]]:
    impl = _check_model(model, engine)
    inputs = _prepare({"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": sigma}, is_call)
    escrow: _Escrow | None = None
    needed = list(which)
    if dividends is not None:
        if model == "black76":
            raise ValueError(
                "dividends do not apply to model='black76': S is the forward, which already reflects them"
            )
        _validate(inputs, model)
        escrow = _escrow(inputs, dividends)
        if model != "bachelier" and not bool(np.all(escrow.spot > 0.0)):
            i = int(np.argmin(escrow.spot > 0.0))
            raise ValueError(
                f"{inputs.where('S', i)} = {inputs.value_at('S', i)!r} is invalid with these dividends: "
                f"the escrowed spot S - PV(dividends before T) = {escrow.spot[i].item()!r} must be > 0"
            )
        inputs = _with_spot(inputs, escrow.spot)
        for g in which:
            dep = _DIVIDEND_NEEDS.get(g)
            if dep is not None and dep not in needed:
                needed.append(dep)
    n = inputs.n
    if model == "american":
        assert impl is not None
        if escrow is None:
            _validate(inputs, model)
        results = _american_greeks(inputs, impl, tuple(needed))
    else:
        slots = np.full(_eu.N_GREEKS, -1, dtype=np.int64)
        for k, g in enumerate(needed):
            slots[GREEK_NAMES.index(g)] = k
        out = np.empty((len(needed), n))
        kernel = _eu.european_kernel if n > _SERIAL_MAX else _eu.european_kernel_serial
        f = inputs.flat
        bad = _run(
            kernel,
            _MODEL_CODE[model],
            f["S"],
            f["K"],
            f["T"],
            f["r"],
            f["q"],
            f["sigma"],
            f["is_call"],
            inputs.strides((*_FIELDS, "is_call")),
            slots,
            out,
            n,
            _n_chunks(n),
        )
        _raise_bad(inputs, bad, model)
        results = {g: out[k] for k, g in enumerate(needed)}
    if escrow is not None:
        _adjust_for_dividends(results, inputs, escrow)
    return {g: results[g].reshape(inputs.shape) for g in which}


def _american_greeks(
    inputs: _Inputs, impl: str, which: tuple[str, ...]
) -> dict[str, NDArray[np.float64]]:
    from riskdesk.pricing import _american  # written separately; imported on first use

    S, K, T, r, q, sigma, is_call = (inputs.full(k) for k in (*_FIELDS, "is_call"))
    if which == ("price",):
        value = _american.american_price(S, K, T, r, q, sigma, is_call, impl)
        return {"price": np.asarray(value, dtype=np.float64)}
    res = _american.american_greeks(S, K, T, r, q, sigma, is_call, impl, which)
    return {g: np.asarray(res[g], dtype=np.float64) for g in which}


def _adjust_for_dividends(
    res: dict[str, NDArray[np.float64]], inputs: _Inputs, escrow: _Escrow
) -> None:
    """Move time and rate Greeks from the escrowed spot to the quoted spot (in place)."""
    r = inputs.flat["r"] if inputs.stride["r"] == 1 else inputs.flat["r"][0]
    drift = -r * escrow.pv * _DAY  # d(escrowed spot)/dt per calendar day
    for g, dep in (("theta", "delta"), ("charm", "gamma"), ("color", "speed"), ("veta", "vanna")):
        if g in res:
            res[g] = res[g] + res[dep] * drift
    if "rho" in res:
        res["rho"] = res["rho"] + res["delta"] * escrow.duration * _PT


def price(
    *,
    model: str,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike = 0.0,
    sigma: ArrayLike,
    is_call: ArrayLike,
    engine: str | None = None,
    dividends: tuple[ArrayLike, ArrayLike] | None = None,
) -> NDArray[np.float64]:
    """Option values.

    Parameters
    ----------
    model:
        ``"bsm"``, ``"black76"``, ``"bachelier"`` or ``"american"`` (see :data:`MODELS`).
    S, K, T, r, q, sigma, is_call:
        Broadcastable inputs; units in the module docstring.
    engine:
        ``model="american"`` only: one of :data:`AMERICAN_ENGINES` (default ``"high_accuracy"``).
    dividends:
        Optional ``(times, amounts)`` of discrete cash dividends (escrowed-dividend model).

    Returns
    -------
    numpy.ndarray
        ``float64`` values of the broadcast shape.

    Raises
    ------
    ValueError
        For an unknown model/engine or an invalid input (the message names field, index, value
        and rule).

    Examples
    --------
    Hull, Example 15.6: ``S=42, K=40, r=0.1, sigma=0.2, T=0.5`` gives a call of 4.76.

    >>> float(price(model="bsm", S=42.0, K=40.0, T=0.5, r=0.1, sigma=0.2, is_call=True).round(2))
    4.76

    """
    return _evaluate(
        model=model,
        S=S,
        K=K,
        T=T,
        r=r,
        q=q,
        sigma=sigma,
        is_call=is_call,
        engine=engine,
        dividends=dividends,
        which=("price",),
    )["price"]


def greeks(
    *,
    model: str,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike = 0.0,
    sigma: ArrayLike,
    is_call: ArrayLike,
    engine: str | None = None,
    dividends: tuple[ArrayLike, ArrayLike] | None = None,
    which: Sequence[str] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """Price and Greeks, analytic for the European models.

    Parameters
    ----------
    model, S, K, T, r, q, sigma, is_call, engine, dividends:
        As for :func:`price`.
    which:
        Names to compute (default: all of :data:`GREEK_NAMES`).  Asking only for what is needed
        is faster: ``("price", "delta", "gamma", "vega", "theta", "rho")`` runs one fused pass.

    Returns
    -------
    dict[str, numpy.ndarray]
        One array of the broadcast shape per requested name, in the order asked.  Units: delta,
        gamma, speed per unit of the underlying; vega, vanna, zomma, rho, phi per 1 point;
        volga per point squared; theta, charm, color, veta per calendar day.

    Examples
    --------
    >>> g = greeks(model="bsm", S=42.0, K=40.0, T=0.5, r=0.1, sigma=0.2, is_call=True, which=["delta"])
    >>> round(float(g["delta"]), 4)
    0.7791

    """
    return _evaluate(
        model=model,
        S=S,
        K=K,
        T=T,
        r=r,
        q=q,
        sigma=sigma,
        is_call=is_call,
        engine=engine,
        dividends=dividends,
        which=_normalise_which(which),
    )


def implied_vol(
    *,
    model: str,
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike = 0.0,
    is_call: ArrayLike,
    engine: str | None = None,
    dividends: tuple[ArrayLike, ArrayLike] | None = None,
) -> ImpliedVolResult:
    """Implied volatility with an explicit status per element; never raises for bad elements.

    ``bsm``/``black76``: Let's-Be-Rational-class solver, machine precision in the normalised
    price.  ``bachelier``: implied absolute normal vol.  ``american``: delegated to the American
    engine selected by ``engine``.

    Returns
    -------
    ImpliedVolResult
        ``iv`` (NaN exactly where the status is not ``ok``), ``status`` names and ``code``.

    Raises
    ------
    ValueError
        Only for an unknown model/engine, non-broadcastable shapes or malformed dividends.

    Examples
    --------
    >>> res = implied_vol(model="bsm", price=4.759422392871532, S=42.0, K=40.0, T=0.5, r=0.1, is_call=True)
    >>> round(float(res.iv), 12), str(res.status)
    (0.2, 'ok')

    """
    impl = _check_model(model, engine)
    inputs = _prepare({"price": price, "S": S, "K": K, "T": T, "r": r, "q": q}, is_call)
    if dividends is not None:
        if model == "black76":
            raise ValueError(
                "dividends do not apply to model='black76': S is the forward, which already reflects them"
            )
        inputs = _with_spot(inputs, _escrow(inputs, dividends).spot)
    n = inputs.n
    names = ("price", "S", "K", "T", "r", "q", "is_call")
    f = inputs.flat
    strides = inputs.strides(names)
    if model == "american":
        from riskdesk.pricing import _american  # written separately; imported on first use

        assert impl is not None
        P, S_, K_, T_, r_, q_, c_ = (inputs.full(k) for k in names)
        iv_raw, code_raw = _american.american_implied_vol(P, S_, K_, T_, r_, q_, c_, impl)
        iv = np.array(iv_raw, dtype=np.float64).reshape(-1)
        code = np.array(code_raw, dtype=np.int8).reshape(-1)
        invalid = _iv.input_codes(
            _eu.MODEL_BSM, f["price"], f["S"], f["K"], f["T"], f["r"], f["q"], strides[:-1], n
        )
        code[invalid != OK] = INVALID_INPUT
    else:
        iv = np.empty(n)
        code = np.empty(n, dtype=np.int8)
        kernel = _iv.implied_vol_kernel if n > _SERIAL_MAX // 8 else _iv.implied_vol_kernel_serial
        _run(
            kernel,
            _MODEL_CODE[model],
            f["price"],
            f["S"],
            f["K"],
            f["T"],
            f["r"],
            f["q"],
            f["is_call"],
            strides,
            iv,
            code,
            n,
            _n_chunks(n),
        )
    # Contract: iv is finite exactly where the status is ok.
    lost = (code == OK) & ~np.isfinite(iv)
    if bool(lost.any()):
        code[lost] = NOT_CONVERGED
    iv[code != OK] = np.nan
    return ImpliedVolResult(
        iv=iv.reshape(inputs.shape),
        status=_STATUS_ARRAY[code].reshape(inputs.shape),
        code=code.reshape(inputs.shape),
    )
