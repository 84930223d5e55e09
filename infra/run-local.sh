#!/usr/bin/env bash
# `make run`: the whole local stack on 127.0.0.1, data under the checkout's ./data.
# SeaweedFS (S3), the demo news site, the server (API + web app) and the crawl scheduler.
#
# The order matters to a newcomer: every port is checked first, before anything is installed or
# started, so a taken port is named with the process holding it instead of surfacing later as a
# service dying in a log. Then `make run-setup` installs what running needs (not the test tools),
# then the services start. A service that exits has its log tail printed; Ctrl+C stops
# everything and exits 0, so make does not report it as an error.
#
#   bash infra/run-local.sh [--no-setup] [--ports]
#     --no-setup  skip `make run-setup` (everything is installed already)
#     --ports     print the ports this run needs, one "PORT WHAT" a line, and exit
#
# Settings: DECLUTTER_HOST, DECLUTTER_PORT (the server), DECLUTTER_DEMO_PORT (the demo site),
# DECLUTTER_DATA_DIR (default: ./data here), DECLUTTER_S3_ENDPOINT (set: use that S3, start no
# SeaweedFS), DECLUTTER_CRAWLS_FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

setup=1 list_ports=0
for arg in "$@"; do
  case $arg in
    --no-setup) setup=0 ;;
    --ports) list_ports=1 ;;
    *) echo "usage: bash infra/run-local.sh [--no-setup] [--ports]" >&2; exit 2 ;;
  esac
done

BIN=.venv/bin
HOST=${DECLUTTER_HOST:-127.0.0.1}
PORT=${DECLUTTER_PORT:-8080}
DEMO_PORT=${DECLUTTER_DEMO_PORT:-8090}
export DECLUTTER_ALLOW_FETCH_HOSTS="${DECLUTTER_ALLOW_FETCH_HOSTS:+$DECLUTTER_ALLOW_FETCH_HOSTS,}127.0.0.1:$DEMO_PORT"  # Capture now and Save snapshot may fetch the demo site, and no other private address
# Exported: the CLI's own default is the user's data folder, `make run` keeps the checkout's.
export DECLUTTER_DATA_DIR=${DECLUTTER_DATA_DIR:-$PWD/data}
DATA=$DECLUTTER_DATA_DIR
S3_SHOWN="http://${DECLUTTER_S3_ENDPOINT:-127.0.0.1:8333}/"
[ -n "${DECLUTTER_S3_ENDPOINT:-}" ] || S3_SHOWN+="  (SeaweedFS, data in $DATA/seaweedfs/)"

# --- ports ------------------------------------------------------------------------------------

needed=("$PORT the server (DECLUTTER_PORT)" "$DEMO_PORT the demo site (DECLUTTER_DEMO_PORT)")
if [ -z "${DECLUTTER_S3_ENDPOINT:-}" ]; then
  # What `weed mini` opens around S3 on 8333: SeaweedPorts.beside() in crawler/cli/services.py.
  for spec in s3:0 master:1000 volume:1007 filer:555 admin:15313; do
    port=$((8333 + ${spec#*:}))
    grpc=$((port + 10000)); ((grpc < 65536)) || grpc=$((port - 10000))
    needed+=("$port SeaweedFS ${spec%%:*}" "$grpc SeaweedFS ${spec%%:*} gRPC")
  done
fi
if ((list_ports)); then
  printf '%s\n' "${needed[@]}"
  exit 0
fi

listener_inode() {  # listener_inode PORT: the socket inode listening on PORT, if any
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $10; exit }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

holder() {  # holder PORT: "pid N: command line" of the process listening on PORT
  local inode fd pid
  inode=$(listener_inode "$1")
  fd=$(find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\[$inode\]" -print -quit 2>/dev/null || true)
  if [ -z "$fd" ]; then
    echo "a process this user cannot see (try: sudo ss -ltnp 'sport = :$1')"
    return
  fi
  pid=${fd#/proc/}; pid=${pid%%/*}
  echo "pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)"
}

taken() {  # taken PORT: true when something listens on PORT (any address)
  if [ -r /proc/net/tcp ]; then
    [ -n "$(listener_inode "$1")" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

busy=0
if [ "$PORT" = "$DEMO_PORT" ]; then
  echo "DECLUTTER_PORT and DECLUTTER_DEMO_PORT are both $PORT; give the demo site another port" >&2
  busy=1
fi
for entry in "${needed[@]}"; do
  port=${entry%% *}
  if taken "$port"; then
    echo "port $port, for ${entry#* }, is taken by $(holder "$port")" >&2
    busy=1
  fi
done
if ((busy)); then
  cat >&2 <<MSG
Nothing was started. Stop what holds the port, or move Declutter: DECLUTTER_PORT=8081,
DECLUTTER_DEMO_PORT=8091, or DECLUTTER_S3_ENDPOINT=host:port to use an S3 already running
(then no SeaweedFS is started), e.g. DECLUTTER_PORT=8081 make run
MSG
  exit 1
fi

# --- setup ------------------------------------------------------------------------------------

if ((setup)); then
  make --no-print-directory run-setup
fi
mkdir -p "$DATA/logs"

# demo-site/ and crawls.toml name 127.0.0.1:8090 (links, sitemaps, feeds, robots.txt, seeds): a
# demo site on another port is served from a copy naming that port, and crawled through one.
SITE=demo-site
CRAWLS=${DECLUTTER_CRAWLS_FILE:-crawls.toml}
if [ "$DEMO_PORT" != 8090 ]; then
  rm -rf "$DATA/demo-site"
  cp -r demo-site "$DATA/demo-site"
  grep -rlZ '127\.0\.0\.1:8090' "$DATA/demo-site" |
    xargs -0 -r sed -i "s/127\.0\.0\.1:8090/127.0.0.1:$DEMO_PORT/g"
  sed "s/127\.0\.0\.1:8090/127.0.0.1:$DEMO_PORT/g" "$CRAWLS" >"$DATA/crawls.toml"
  SITE=$DATA/demo-site CRAWLS=$DATA/crawls.toml
fi
export DECLUTTER_CRAWLS_FILE=$CRAWLS

# --- services ---------------------------------------------------------------------------------

pids=() names=() logs=()

start() {  # start NAME LOG COMMAND...: in the background, remembered for stopping and reporting
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  pids+=($!) names+=("$name") logs+=("$log")
}

alive() {  # alive PID: running (an exited child stays a zombie until waited for)
  [ -e "/proc/$1" ] && ! grep -q '^State:.*zombie' "/proc/$1/status" 2>/dev/null
}

stop_all() {  # SIGTERM to every service, SIGKILL to any still running after 20 s
  local pid deadline=$((SECONDS + 20))
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    while alive "$pid"; do
      ((SECONDS < deadline)) || kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    done
  done
  wait 2>/dev/null || true
}

exited() {  # exited INDEX [CODE]: say which service stopped, show its log's end, stop the rest
  local i=$1 code=${2:-0}
  trap - INT TERM
  [ $# -gt 1 ] || wait "${pids[$i]}" 2>/dev/null || code=$?
  {
    echo
    echo "${names[$i]} exited (code $code). The end of ${logs[$i]}:"
    tail -n 20 "${logs[$i]}" | sed 's/^/  | /'
    echo "stopping the other services..."
  } >&2
  stop_all
  exit 1
}

check_all() {  # report the first service that is no longer running
  local i
  for i in "${!pids[@]}"; do
    alive "${pids[$i]}" || exited "$i"
  done
}

interrupted() {
  trap - INT TERM
  echo
  echo "stopping Declutter..."
  stop_all
  echo "Declutter stopped."
  exit 0
}
trap interrupted INT TERM
trap stop_all EXIT

wait_for() {  # wait_for NAME HOST:PORT SECONDS: until it accepts connections (or a service exits)
  local name=$1 addr=$2 deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null; do
    check_all
    if ((SECONDS > deadline)); then
      echo "$name did not start on $addr within $3 s; see $DATA/logs/" >&2
      exit 1
    fi
    sleep 0.3
  done
}

if [ -z "${DECLUTTER_S3_ENDPOINT:-}" ]; then
  start "SeaweedFS (declutter storage)" "$DATA/logs/storage.log" "$BIN/declutter" storage
  wait_for "SeaweedFS (S3)" 127.0.0.1:8333 90
fi

start "the demo site" "$DATA/logs/demo-site.log" \
  "$BIN/python" -m http.server "$DEMO_PORT" --bind 127.0.0.1 --directory "$SITE"

start "the server (declutter serve)" "$DATA/logs/server.log" \
  "$BIN/declutter" serve --host "$HOST" --port "$PORT"
wait_for "the server" "$HOST:$PORT" 60

start "the crawl scheduler (declutter schedule)" "$DATA/logs/schedule.log" \
  "$BIN/declutter" schedule

cat <<MSG

Declutter is running (logs in $DATA/logs/, data in $DATA/).
  Web app:        http://$HOST:$PORT/
  API:            http://$HOST:$PORT/api/v1/  (OpenAPI: http://$HOST:$PORT/api/v1/openapi.json)
  S3:             $S3_SHOWN
  Demo news site: http://127.0.0.1:$DEMO_PORT/  (crawled every minute by the "demo" crawl in $CRAWLS)

The extension: open chrome://extensions, turn on Developer mode, "Load unpacked" and pick
$(pwd)/extension. Its options take the server URL (http://$HOST:$PORT) and a token for saving
snapshots: DECLUTTER_DATA_DIR=$DATA $BIN/declutter token create

The declutter command reads your user data folder unless told otherwise; for this archive:
  export DECLUTTER_DATA_DIR=$DATA
  $PWD/$BIN/declutter captures '127.0.0.1:$DEMO_PORT/articles/*'
Extract one page by hand: $BIN/declutter extract ../shared/fixtures/seed-article/page.html
Ctrl+C stops everything.
MSG

while true; do
  code=0
  wait -n -p done_pid "${pids[@]}" || code=$?
  for i in "${!pids[@]}"; do
    [ "${pids[$i]}" != "${done_pid:-}" ] || exited "$i" "$code"
  done
  ((code > 128)) || check_all  # a signal ended the wait: its trap decides
done
