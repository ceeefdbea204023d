#!/usr/bin/env bash
# Set everything up and run the whole test suite: SQLite always, PostgreSQL on a real server.
# When RISKDESK_TEST_POSTGRES_URL is unset, a throwaway server is installed (Debian packages)
# and started on 127.0.0.1, then stopped at the end. The same for Redis and
# RISKDESK_TEST_REDIS_URL (scripts/redis.sh), and Debian's Chromium for the browser tests
# (scripts/chromium.sh; RISKDESK_TEST_CHROMIUM names another one).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev,postgres,brokers
export RISKDESK_PG_STATE="/tmp/riskdesk-pg-state-$$"
export RISKDESK_REDIS_STATE="/tmp/riskdesk-redis-state-$$"
started_pg=0
started_redis=0
cleanup() {
  [[ $started_pg -eq 1 ]] && scripts/pg.sh stop || true
  [[ $started_redis -eq 1 ]] && scripts/redis.sh stop || true
}
trap cleanup EXIT
if [[ -z "${RISKDESK_TEST_POSTGRES_URL:-}" ]]; then
  RISKDESK_TEST_POSTGRES_URL=$(scripts/pg.sh start)
  started_pg=1
  export RISKDESK_TEST_POSTGRES_URL
fi
echo "PostgreSQL for tests: ${RISKDESK_TEST_POSTGRES_URL}"
if [[ -z "${RISKDESK_TEST_REDIS_URL:-}" ]]; then
  started_redis=1
  RISKDESK_TEST_REDIS_URL=$(scripts/redis.sh start)
  export RISKDESK_TEST_REDIS_URL
fi
echo "Redis for tests: ${RISKDESK_TEST_REDIS_URL}"
# The browser tests drive Debian's Chromium (installed when missing) and must not be skipped.
if [[ -z "${RISKDESK_TEST_CHROMIUM:-}" ]]; then
  RISKDESK_TEST_CHROMIUM=$(scripts/chromium.sh)
  export RISKDESK_TEST_CHROMIUM
fi
export RISKDESK_REQUIRE_BROWSER=1
echo "Chromium for browser tests: ${RISKDESK_TEST_CHROMIUM}"
# Keep numba's JIT cache inside the checkout so reruns start fast.
# numba's on-disk JIT cache, keyed by the kernels' source: numba only invalidates a cached
# function when its own file changes, not when a kernel it calls does.
kernels=$(cat src/riskdesk/pricing/*.py | sha1sum | cut -c1-12)
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.cache/numba/$kernels}"
# Compile the kernels once, in parallel parts, before the workers start: otherwise both
# workers compile the same kernels at the same time (about 4 of a cold run's 15 minutes).
.venv/bin/python -m riskdesk.warm
# Two pytest-xdist workers by default (the suite is CPU-bound; the machine has 2 cores). Each
# file runs on one worker (tests/conftest.py groups by file; every Redis test shares one group)
# and each worker has its own PostgreSQL databases, Redis database number and temp dirs.
# RISKDESK_TEST_WORKERS=0 runs in one process (e.g. to debug with pdb).
workers="${RISKDESK_TEST_WORKERS:-2}"
xdist=()
if [[ "$workers" != "0" ]]; then
  # --no-loadscope-reorder: keep the conftest order (files with slow tests first)
  xdist=(-n "$workers" --dist loadgroup --no-loadscope-reorder)
fi
set +e
.venv/bin/python -m pytest "${xdist[@]}" "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit $rc
