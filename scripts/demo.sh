#!/usr/bin/env bash
# Set everything up and run the main job on the embedded SQLite default.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev,postgres
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.cache/numba}"
.venv/bin/riskdesk db upgrade
.venv/bin/riskdesk db status
