#!/usr/bin/env bash
# Set everything up and run the main job on the embedded SQLite default:
# synthetic market -> trades -> evaluation, comparison, P&L attribution -> report.html
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev,postgres
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.cache/numba}"
.venv/bin/riskdesk demo "$@"
.venv/bin/riskdesk db status
