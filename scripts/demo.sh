#!/usr/bin/env bash
# Set everything up and run the main job on the embedded SQLite default:
# synthetic market -> trades -> evaluation, comparison, P&L attribution -> report.html
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev,postgres
# numba's on-disk JIT cache, keyed by the kernels' source: numba only invalidates a cached
# function when its own file changes, not when a kernel it calls does.
kernels=$(cat src/riskdesk/pricing/*.py | sha1sum | cut -c1-12)
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.cache/numba/$kernels}"
.venv/bin/riskdesk demo "$@"
.venv/bin/riskdesk db status
