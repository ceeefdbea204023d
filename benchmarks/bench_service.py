"""Service benchmark: ``python benchmarks/bench_service.py [rate] [seconds] [repeats] [--json]``.

Same code as ``riskdesk bench service`` (see :mod:`riskdesk.bench._service`): a real
``riskdesk serve`` on loopback, driven open-loop at ``rate`` requests/s (default 100).
"""

from __future__ import annotations

import sys

from riskdesk.bench._service import main

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--json"]
    main(
        rate=float(args[0]) if args else 100.0,
        seconds=float(args[1]) if len(args) > 1 else 10.0,
        repeats=int(args[2]) if len(args) > 2 else 3,
        workers=32,
        as_json="--json" in sys.argv[1:],
    )
