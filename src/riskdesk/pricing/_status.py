"""Implied-vol status codes shared by every implied-vol solver.

Kernels return ``int8`` codes; the public API maps them to names.
"""

from __future__ import annotations

OK = 0
BELOW_INTRINSIC = 1
ABOVE_UPPER_BOUND = 2
NO_TIME_VALUE = 3
INVALID_INPUT = 4
NOT_CONVERGED = 5

STATUS_NAMES: tuple[str, ...] = (
    "ok",
    "below_intrinsic",
    "above_upper_bound",
    "no_time_value",
    "invalid_input",
    "not_converged",
)
