#!/usr/bin/env bash
# Outside verification against a live server (run by .ci/run after the tests):
# the graphql-http audit, a bounded schemathesis run, what a new user might
# throw at it, and GraphiQL rendered in headless Chromium with no network
# beyond loopback. Installs what it needs; stops the server however it ends.
set -euo pipefail
cd "$(dirname "$0")/../../.."

HERE=tests/e2e/outside
PY=.venv/bin/python
OUT=${OUTSIDE_OUT:-$(mktemp -d /tmp/rapport-outside.XXXXXX)}
mkdir -p "$OUT"

say() { printf -- '-- %s\n' "$*"; }

say "installing: npm packages, schemathesis, chromium"
if ! command -v node >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
"$PY" -m pip install --quiet --disable-pip-version-check -e ".[outside]"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT/graphql"
say "starting the server on 127.0.0.1:$PORT with demo data (log: $OUT/server.log)"
env -u REDIS_URL -u RAPPORT_REQUIRE_SERVICES \
  HOST=127.0.0.1 PORT="$PORT" \
  DATABASE_URL="sqlite://$OUT/outside.db" SEED_DEMO_DATA=true \
  SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')" \
  LOG_LEVEL=info \
  "$PY" serve.py >"$OUT/server.log" 2>&1 &
SERVER=$!
stop_server() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
}
trap stop_server EXIT

for _ in $(seq 1 120); do
  if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then
    tail -40 "$OUT/server.log"; echo "the server exited" >&2; exit 1
  fi
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || {
  tail -40 "$OUT/server.log"; echo "the server never became ready" >&2; exit 1
}

passed=0
failed=0
check() {
  say "$1"
  shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
check "graphql-http audit" node "$HERE/audit.mjs" "$URL"
check "schemathesis" "$PY" "$HERE/fuzz.py" "$URL" "$OUT/fuzz"
check "a new user's abuse" "$PY" "$HERE/abuse.py" "$URL"
check "GraphiQL in headless Chromium" \
  node "$HERE/graphiql.mjs" "$URL" "$OUT/graphiql.png"

stop_server
trap - EXIT
say "no traceback in the server's log"
if grep -n "Traceback" "$OUT/server.log"; then
  failed=$((failed + 1))
else
  passed=$((passed + 1))
fi
"$PY" "$HERE/timings.py" "$OUT/server.log"
say "artifacts in $OUT"
echo "outside-verification: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
