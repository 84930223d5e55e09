#!/usr/bin/env bash
# `make run`: the whole local stack on 127.0.0.1, data under ./data (DECLUTTER_DATA_DIR).
# SeaweedFS (S3), the demo news site, the server (API + web app) and the crawl scheduler.
# Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
HOST=${DECLUTTER_HOST:-127.0.0.1}
PORT=${DECLUTTER_PORT:-8080}
DEMO_PORT=${DECLUTTER_DEMO_PORT:-8090}
DATA=${DECLUTTER_DATA_DIR:-data}
mkdir -p "$DATA/logs"

pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping Declutter..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

wait_for() {  # wait_for NAME HOST:PORT SECONDS
  local name=$1 addr=$2 deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null; do
    if ((SECONDS > deadline)); then
      echo "$name did not start on $addr; see $DATA/logs/" >&2
      exit 1
    fi
    sleep 0.3
  done
}

if [ -z "${DECLUTTER_S3_ENDPOINT:-}" ]; then
  "$BIN/declutter" storage >"$DATA/logs/storage.log" 2>&1 &
  pids+=($!)
  wait_for "SeaweedFS (S3)" 127.0.0.1:8333 90
fi

"$BIN/python" -m http.server "$DEMO_PORT" --bind 127.0.0.1 --directory demo-site \
  >"$DATA/logs/demo-site.log" 2>&1 &
pids+=($!)

"$BIN/declutter" serve --host "$HOST" --port "$PORT" >"$DATA/logs/server.log" 2>&1 &
pids+=($!)
wait_for "the server" "$HOST:$PORT" 60

"$BIN/declutter" schedule >"$DATA/logs/schedule.log" 2>&1 &
pids+=($!)

cat <<MSG

Declutter is running (logs in $DATA/logs/, data in $DATA/).
  Web app:        http://$HOST:$PORT/
  API:            http://$HOST:$PORT/api/v1/  (OpenAPI: http://$HOST:$PORT/api/v1/openapi.json)
  S3 (SeaweedFS): http://127.0.0.1:8333/
  Demo news site: http://127.0.0.1:$DEMO_PORT/  (crawled every minute by the "demo" crawl in crawls.toml)

The extension: open chrome://extensions, turn on Developer mode, "Load unpacked" and pick
$(pwd)/extension. Its options take the server URL (http://$HOST:$PORT) and a token for saving
snapshots: $BIN/declutter token create

Extract one page by hand: $BIN/declutter extract ../shared/fixtures/seed-article/page.html
Ctrl+C stops everything.
MSG

wait -n "${pids[@]}"
echo "a Declutter process exited; see $DATA/logs/" >&2
