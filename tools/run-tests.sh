#!/usr/bin/env bash
# Lint, type-check, check the layers (import-linter's contracts in pyproject.toml) and run the suite. Tests talk to
# a real Redis: the one at TEST_REDIS_URL (default 127.0.0.1:6379), or a throwaway redis-server started here when
# none answers and the binary is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test}"

redis_answers() {
  "$BIN/python" - "$1" <<'PY'
import sys, redis
try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()
except Exception:
    sys.exit(1)
PY
}

if ! redis_answers "$TEST_REDIS_URL"; then
  if command -v redis-server >/dev/null 2>&1; then
    port=$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    dir=$(mktemp -d)
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; rm -rf "$dir"' EXIT
    export TEST_REDIS_URL="redis://127.0.0.1:$port/0"
    for _ in $(seq 50); do redis_answers "$TEST_REDIS_URL" && break; sleep 0.1; done
    echo "started a throwaway redis-server on port $port"
  else
    echo "No Redis answers at $TEST_REDIS_URL and redis-server is not installed." >&2
    echo "Install it (Debian/Ubuntu: apt-get install redis-server) or point TEST_REDIS_URL at a server." >&2
    exit 1
  fi
fi

"$BIN/ruff" check .
"$BIN/ruff" format --check .
"$BIN/mypy"
"$BIN/lint-imports" --no-cache
"$BIN/pytest" "$@"
