"""Seeded random European option cases shared by the pricing tests (numpy only)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

HOUR = 1.0 / (365.0 * 24.0)


@dataclass(frozen=True)
class Cases:
    model: str
    S: NDArray[np.float64]
    K: NDArray[np.float64]
    T: NDArray[np.float64]
    r: NDArray[np.float64]
    q: NDArray[np.float64]
    sigma: NDArray[np.float64]
    is_call: NDArray[np.bool_]

    def kwargs(self) -> dict[str, object]:
        return {
            "model": self.model,
            "S": self.S,
            "K": self.K,
            "T": self.T,
            "r": self.r,
            "q": self.q,
            "sigma": self.sigma,
            "is_call": self.is_call,
        }

    def row(self, i: int) -> tuple[float, float, float, float, float, float, bool]:
        return (
            float(self.S[i]),
            float(self.K[i]),
            float(self.T[i]),
            float(self.r[i]),
            float(self.q[i]),
            float(self.sigma[i]),
            bool(self.is_call[i]),
        )

    @property
    def forward(self) -> NDArray[np.float64]:
        if self.model == "black76":
            return self.S
        return np.asarray(self.S * np.exp((self.r - self.q) * self.T))


def european_cases(model: str, n: int, seed: int) -> Cases:
    """Wide random cases: T from 1 hour to 30 years, vol 0.5%-500%, rates -5%..15%.

    Half the strikes are drawn in standardised moneyness ``h = ln(F/K)/(sigma sqrt T)`` uniform
    on [-38, 38] (so values reach down to ~1e-300 of the forward, deep in and out of the money),
    half log-uniform in ``K/F`` on [1/20, 20].  For ``bachelier`` the normal vol is the lognormal
    draw times the spot and half the strikes are ``F - h * vol * sqrt T``.
    """
    rng = np.random.default_rng(seed)
    T = np.exp(rng.uniform(math.log(HOUR), math.log(30.0), n))
    vol = np.exp(rng.uniform(math.log(0.005), math.log(5.0), n))
    S = np.exp(rng.uniform(0.0, math.log(1000.0), n))
    r = rng.uniform(-0.05, 0.15, n)
    q = np.zeros(n) if model == "black76" else rng.uniform(-0.05, 0.15, n)
    F = S if model == "black76" else S * np.exp((r - q) * T)
    h = rng.uniform(-38.0, 38.0, n)
    standardised = rng.random(n) < 0.5
    x = np.where(
        standardised,
        np.clip(h * vol * np.sqrt(T), -30.0, 30.0),
        rng.uniform(math.log(1 / 20), math.log(20.0), n),
    )
    K = F * np.exp(-x)
    if model == "bachelier":
        vol = vol * S
        K = np.where(standardised, F - h * vol * np.sqrt(T), K)
    return Cases(model, S, K, T, r, q, vol, rng.random(n) < 0.5)
