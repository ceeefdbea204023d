#!/usr/bin/env bash
# Create .venv (if needed) and install riskdesk with the given extras, pinned by constraints.txt.
# Usage: scripts/setup.sh [extras]   (default extras: dev,postgres)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev,postgres}"
PY="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.riskdesk-installed-${extras//,/-}"
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" || constraints.txt -nt "$stamp" ]]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[${extras}]"
  touch "$stamp"
fi
