#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the test suite.
# Installs Debian's postgresql package when no server binaries are present.
#   scripts/pg.sh start  -> prints the SQLAlchemy URL on stdout, state in $RISKDESK_PG_STATE
#   scripts/pg.sh stop
set -euo pipefail
state="${RISKDESK_PG_STATE:-/tmp/riskdesk-pg-state}"

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" ]] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local bin
  if ! bin=$(find_bin); then
    echo "PostgreSQL not found: installing Debian package 'postgresql'" >&2
    local SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
    bin=$(find_bin)
  fi
  local dir port
  dir=$(mktemp -d /tmp/riskdesk-pg.XXXXXX)
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres riskdesk_test
  printf '%s\n%s\n%s\n' "$bin" "$dir" "$port" > "$state"
  echo "postgresql+psycopg://postgres@127.0.0.1:${port}/riskdesk_test"
}

stop() {
  [[ -f "$state" ]] || return 0
  local bin dir
  bin=$(sed -n 1p "$state"); dir=$(sed -n 2p "$state")
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir" "$state"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
