#!/usr/bin/env bash
# A throwaway PostgreSQL 15 on 127.0.0.1 for tests and the chaos run: its own data dir, a free port, fsync off
# (a kill -9 of the server loses no commit: the WAL is in the OS page cache; only power loss would).
# synchronous_commit stays on: with it off, a killed server loses its last commits, which the tests would see.
#   scripts/pg_server.sh start DIR [PORT]   initdb (first time) + start; prints the URL, also written to DIR/url
#   scripts/pg_server.sh stop DIR           fast shutdown (SIGINT to the postmaster, by its PID), waits
#   scripts/pg_server.sh kill DIR           SIGKILL (the chaos run's crash)
#   scripts/pg_server.sh restart DIR        stop + start on the same port and data
#   scripts/pg_server.sh status DIR         exit 0 when it accepts connections
#   scripts/pg_server.sh destroy DIR        stop, then remove the data
# DIR holds the state files (url, port, datadir); the cluster itself lives in a mktemp dir under /tmp, because as
# root initdb/postgres run as the postgres user (they refuse root) and every parent of the data dir must be
# traversable by it. Its log: <datadir>/postgres.log.
set -euo pipefail
cmd=${1:?usage: pg_server.sh start|stop|kill|restart|status|destroy DIR [PORT]}
dir=${2:?usage: pg_server.sh start|stop|kill|restart|status|destroy DIR [PORT]}
pgbin=${DUTYDESK_PGBIN:-/usr/lib/postgresql/15/bin}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

if [[ -f "$dir/datadir" ]]; then
  home=$(cat "$dir/datadir")
else
  home=$(mktemp -d /tmp/dutydesk-pg-XXXXXX)
  echo "$home" >"$dir/datadir"
fi

pid_of() {  # the postmaster's PID from its pid file (first line), or nothing
  [[ -f "$home/data/postmaster.pid" ]] && head -1 "$home/data/postmaster.pid" || true
}

ready() {
  local port
  port=$(cat "$dir/port" 2>/dev/null) || return 1
  "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1
}

start() {
  local port=${1:-}
  mkdir -p "$home"
  if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$home"; fi
  if [[ ! -f "$home/data/PG_VERSION" ]]; then
    as_pg "$pgbin/initdb" -D "$home/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$home/initdb.log" 2>&1 \
      || { cat "$home/initdb.log" >&2; exit 1; }
  fi
  [[ -z "$port" && -f "$dir/port" ]] && port=$(cat "$dir/port")
  [[ -z "$port" ]] && port=$(free_port)
  echo "$port" >"$dir/port"
  if ready; then echo "postgresql://postgres@127.0.0.1:$port/postgres"; return 0; fi
  # pg_ctl -w waits until the server accepts connections; the log stays in DIR.
  as_pg "$pgbin/pg_ctl" -D "$home/data" -l "$home/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $home -c fsync=off -c max_connections=50" \
    start >/dev/null 2>&1 || { tail -20 "$home/postgres.log" >&2; exit 1; }
  local url="postgresql://postgres@127.0.0.1:$port/postgres"
  echo "$url" >"$dir/url"
  echo "$url"
}

stop() {
  local pid
  pid=$(pid_of)
  [[ -z "$pid" ]] && return 0
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  echo "pg_server: postmaster $pid did not stop in 30 s" >&2
  return 1
}

case $cmd in
  start) start "${3:-}" ;;
  stop) stop ;;
  kill)
    pid=$(pid_of)
    if [[ -n "$pid" ]]; then
      # The postmaster and its children: a crash as the kernel's OOM killer would cause it.
      pkill -KILL -P "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    ;;
  restart) stop; start ;;
  destroy) stop; rm -rf "$home"; rm -f "$dir/datadir" "$dir/url" "$dir/port" ;;
  status) ready ;;
  *) echo "pg_server.sh: unknown command $cmd" >&2; exit 2 ;;
esac
