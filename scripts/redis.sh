#!/usr/bin/env bash
# Start a throwaway Redis server on 127.0.0.1 for the test suite.
# Installs Debian's redis-server package when the binary is missing.
#   scripts/redis.sh start  -> prints the Redis URL on stdout, state in $RISKDESK_REDIS_STATE
#   scripts/redis.sh stop
# No persistence (no RDB, no AOF), loopback only, daemonized with its pid file, log and
# working directory in a temporary folder that `stop` removes.
set -euo pipefail
state="${RISKDESK_REDIS_STATE:-/tmp/riskdesk-redis-state}"

find_bin() {
  local b
  for b in "$(command -v redis-server 2>/dev/null || true)" /usr/bin/redis-server /usr/local/bin/redis-server; do
    [[ -n "$b" && -x "$b" ]] && { echo "$b"; return 0; }
  done
  return 1
}

# PING through bash's /dev/tcp: no dependency on redis-cli.
ping_redis() {
  local port=$1 reply
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3 || reply=""
  exec 3<&- 3>&-
  [[ "$reply" == "+PONG"* ]]
}

start() {
  local bin
  if ! bin=$(find_bin); then
    echo "redis-server not found: installing Debian package 'redis-server'" >&2
    local SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >&2
    bin=$(find_bin)
  fi
  local dir port i
  dir=$(mktemp -d /tmp/riskdesk-redis.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  "$bin" --bind 127.0.0.1 --port "$port" --protected-mode no \
    --save '' --appendonly no --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
  printf '%s\n%s\n' "$dir" "$port" > "$state"
  for i in $(seq 1 100); do
    if ping_redis "$port"; then
      echo "redis://127.0.0.1:${port}/0"
      return 0
    fi
    sleep 0.1
  done
  echo "redis-server on port $port did not answer PING within 10 s; its log:" >&2
  cat "$dir/redis.log" >&2 || true
  stop
  return 1
}

stop() {
  [[ -f "$state" ]] || return 0
  local dir pid i
  dir=$(sed -n 1p "$state")
  if [[ -f "$dir/redis.pid" ]]; then
    pid=$(cat "$dir/redis.pid")
    if kill "$pid" 2>/dev/null; then
      for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir" "$state"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
