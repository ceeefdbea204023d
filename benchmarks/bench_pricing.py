"""Pricing benchmark: ``python benchmarks/bench_pricing.py [n] [repeats] [--json]``.

Same code as ``riskdesk bench pricing`` (see :mod:`riskdesk.bench._pricing`).
"""

from __future__ import annotations

import sys

from riskdesk.bench._pricing import main

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--json"]
    main(
        n=int(args[0]) if args else 1_000_000,
        repeats=int(args[1]) if len(args) > 1 else 7,
        as_json="--json" in sys.argv[1:],
    )
