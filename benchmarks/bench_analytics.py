"""Workbench benchmark: ``python benchmarks/bench_analytics.py [repeats] [--json]``.

Same code as ``riskdesk bench analytics`` (see :mod:`riskdesk.bench._analytics`).
"""

from __future__ import annotations

import sys

from riskdesk.bench._analytics import main

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--json"]
    main(repeats=int(args[0]) if args else 7, as_json="--json" in sys.argv[1:])
