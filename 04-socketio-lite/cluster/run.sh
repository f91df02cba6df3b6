#!/bin/sh
# make lesson-4-cluster: Debian's redis-server on a private loopback port (data
# and append-only file in BUILD/cluster/redis), two lesson-4 nodes on it, and
# HAProxy on 8004 in front of them (haproxy.cfg beside this file). Open
# http://localhost:8004/ in two tabs: each shows the node that serves it.
# Ctrl-C stops all four.
#   04-socketio-lite/cluster/run.sh BUILD_DIR [lesson-4 flags...]
set -eu
build=$1
shift
here=$(dirname "$0")
data="$build/cluster/redis"
mkdir -p "$data"
REDIS_PORT=${REDIS_PORT:-6394}
FRONT_PORT=${FRONT_PORT:-8004}
NODE_A_PORT=${NODE_A_PORT:-8014}
NODE_B_PORT=${NODE_B_PORT:-8024}
export FRONT_PORT NODE_A_PORT NODE_B_PORT

pids=
stop() {
  trap - INT TERM EXIT
  # shellcheck disable=SC2086
  kill $pids 2>/dev/null || true
  wait
}
trap stop INT TERM EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$data" --appendonly yes \
  --save '' --loglevel warning &
pids="$pids $!"
# The nodes would connect again on their own, but start them once Redis answers, so
# their first log lines are not "cut off" (5 s at most).
for _ in $(seq 50); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
# With --redis the history lives in Redis: no local log (--data none).
"$build/lesson-4" --redis "127.0.0.1:$REDIS_PORT" --data none --node a \
  --port "$NODE_A_PORT" "$@" &
pids="$pids $!"
"$build/lesson-4" --redis "127.0.0.1:$REDIS_PORT" --data none --node b \
  --port "$NODE_B_PORT" "$@" &
pids="$pids $!"
haproxy -db -f "$here/haproxy.cfg" &
pids="$pids $!"
echo "cluster: http://localhost:$FRONT_PORT/ (nodes a :$NODE_A_PORT and b :$NODE_B_PORT," \
  "redis :$REDIS_PORT); Ctrl-C stops all"
wait
