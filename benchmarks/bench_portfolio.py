"""Portfolio risk benchmark: ``python benchmarks/bench_portfolio.py [--positions N]
[--repeats R] [--json]``.

Same code as ``riskdesk bench portfolio`` (see :mod:`riskdesk.bench._portfolio`).
"""

from __future__ import annotations

import argparse

from riskdesk.bench._portfolio import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--positions", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    main(positions=args.positions, repeats=args.repeats, as_json=args.json)
