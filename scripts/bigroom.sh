#!/usr/bin/env bash
# bigroom.sh: one live contest room spread over several Kepu instances
# (docs/benchmarks.md, "A room over three instances").
#
# Makes a fresh database and a private Redis, starts BIGROOM_INSTANCES
# `kepu serve` processes on their own ports (open-file limit 20,000 each,
# one Redis, so they share the room through Redis pub/sub), runs `loadtest contest` with the
# players dealt round-robin over them and held by BIGROOM_PROCS worker
# processes, then stops the servers and Redis by PID.
# At the end it says where the machine's CPU time went during the run.
# Extra arguments go to the load tool (e.g. --json).
#
#   scripts/bigroom.sh                                              # 30,000 players over 3 instances
#   BIGROOM_INSTANCES=1 BIGROOM_PLAYERS=10000 BIGROOM_PROCS=0 \
#     BIGROOM_JOIN_OVER=15s scripts/bigroom.sh                      # the 10,000 single-instance reference
set -euo pipefail
cd "$(dirname "$0")/.."

INSTANCES=${BIGROOM_INSTANCES:-3}
PLAYERS=${BIGROOM_PLAYERS:-30000}
PROCS=${BIGROOM_PROCS:-2}
JOIN_OVER=${BIGROOM_JOIN_OVER:-45s}
PORT=${BIGROOM_PORT:-18130}     # instance k listens on PORT+k
DB=${BIGROOM_DB:-kepu_bigroom}
PGBASE=${BIGROOM_PG:-postgres://postgres@127.0.0.1:5432}
REDIS_PORT=${BIGROOM_REDIS_PORT:-$((PORT + 100))}  # a private redis-server, stopped by PID at the end
REDIS_URL=${BIGROOM_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}  # or set this to use a running Redis
PREFIX=kepubigroom$$

say() { echo "bigroom: $*" >&2; }

mkdir -p bin
go build -o bin/kepu ./cmd/kepu
go build -o bin/loadtest ./loadtest

pids=() urls=() redis_pid=
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true
  else
    redis-cli -u "$REDIS_URL" --scan --pattern "$PREFIX*" | xargs -r -n 500 redis-cli -u "$REDIS_URL" DEL >/dev/null || true
  fi
}
trap stop EXIT
if [ -z "${BIGROOM_REDIS_URL:-}" ]; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning >/dev/null &
  redis_pid=$!
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

export KEPU_DATABASE_URL="$PGBASE/$DB?sslmode=disable" KEPU_REDIS_URL="$REDIS_URL" KEPU_REDIS_PREFIX=$PREFIX \
  KEPU_LOG_LEVEL=warn KEPU_PPROF=${BIGROOM_PROFILE:+true} KEPU_SECRET_KEY=$(openssl rand -hex 32) \
  KEPU_CONTEST_MAX_PLAYERS=$((PLAYERS > 20000 ? PLAYERS : 20000))
psql "$PGBASE/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
bin/kepu migrate >/dev/null
bin/kepu seed --quiet >/dev/null
bin/kepu user create --username bigroom-host --role teacher --password bigroom-host-pass-123 >/dev/null

for k in $(seq 1 "$INSTANCES"); do
  addr=127.0.0.1:$((PORT + k))
  (ulimit -n 20000 && KEPU_ADDR=$addr KEPU_BASE_URL=http://$addr exec bin/kepu serve) 2>"/tmp/bigroom-$PREFIX-$k.log" &
  pids+=($!) urls+=("http://$addr")
done
for u in "${urls[@]}"; do
  for _ in $(seq 100); do curl -sf "$u/readyz" >/dev/null && break; sleep 0.2; done
  curl -sf "$u/readyz" >/dev/null || { say "$u did not start (see /tmp/bigroom-$PREFIX-*.log)"; exit 1; }
done

# Where the CPU went during the run (seconds): the machine (all cores, from
# /proc/stat), each server, Redis, and the load tool with its workers.
TICK=$(getconf CLK_TCK)
machine_busy() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9}' /proc/stat; }
proc_cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
redis_cpu() { redis-cli -u "$REDIS_URL" INFO cpu | awk -F: '/^used_cpu_(sys|user):/ {s+=$2} END {printf "%.1f", s}'; }
# Time a process's threads were runnable but waited for a core (ms, from
# schedstat; threads alive at both reads).
runq_wait() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s+=$2} END {printf "%d", s/1e6}'; }
REDIS_PID=$(redis-cli -u "$REDIS_URL" INFO server | awk -F: '/^process_id:/ {print $2+0}')
busy0=$(machine_busy) t0=$(date +%s.%N) redis0=$(redis_cpu) rwait0=$(runq_wait "$REDIS_PID")
srv0=() swait0=(); for pid in "${pids[@]}"; do srv0+=($(proc_cpu "$pid")) swait0+=($(runq_wait "$pid")); done

# BIGROOM_PROFILE=DIR: 30 s CPU profiles of every server from when the
# lobby should be full (the play phase), and the tool's and its workers'.
profile=()
if [ -n "${BIGROOM_PROFILE:-}" ]; then
  mkdir -p "$BIGROOM_PROFILE"
  profile=(--cpu-profile "$BIGROOM_PROFILE/loadtest.prof")
  for i in "${!urls[@]}"; do
    (sleep $(( ${JOIN_OVER%s} + 5 )); curl -sf -o "$BIGROOM_PROFILE/kepu$((i + 1)).prof" "${urls[$i]}/debug/pprof/profile?seconds=30") &
  done
fi

say "$(date -u '+%Y-%m-%d %H:%M:%S UTC'), nproc $(nproc), $(free -g | awk '/^Mem:/ {print $2 " GiB RAM"}'), $(uptime | sed 's/.*load/load/')"
say "instances ${urls[*]} (pids ${pids[*]}), $PLAYERS players, $PROCS worker processes"
IFS=,
set +e
TIMEFORMAT='%U %S'
{ time bin/loadtest contest --url "${urls[*]}" --server-pid "${pids[*]}" --procs "$PROCS" \
  --database-url "$KEPU_DATABASE_URL" --admin bigroom-host --admin-password bigroom-host-pass-123 \
  --players "$PLAYERS" --join-over "$JOIN_OVER" --questions 3 --time-limit 20 --answer-within 5s --idle 5s \
  --duration 600s "${profile[@]}" "$@" 2>&3 ; } 3>&2 2>/tmp/bigroom-$PREFIX.time
rc=$?
unset IFS
say "after the run: $(uptime | sed 's/.*load/load/')"
wall=$(echo "$(date +%s.%N) - $t0" | bc)
busy=$(( $(machine_busy) - busy0 ))
srv=() srvsum=0
for i in "${!pids[@]}"; do
  d=$(( $(proc_cpu "${pids[$i]}") - srv0[i] )); srv+=("$(echo "scale=1; $d/$TICK" | bc)"); srvsum=$((srvsum + d))
done
waits=(); for i in "${!pids[@]}"; do waits+=("$(echo "scale=1; ($(runq_wait "${pids[$i]}") - ${swait0[$i]})/1000" | bc)"); done
say "waiting for a core (runnable, not running; seconds): kepu serve ${waits[*]}, redis $(echo "scale=1; ($(runq_wait "$REDIS_PID") - $rwait0)/1000" | bc)"
tool=$(awk '{print $1+$2}' /tmp/bigroom-$PREFIX.time)
redis=$(echo "$(redis_cpu) - $redis0" | bc)
say "CPU seconds over ${wall%.*} s wall ($(nproc) cores: $(echo "$wall * $(nproc)" | bc | cut -d. -f1) available): machine busy $(echo "scale=1; $busy/$TICK" | bc)," \
  "kepu serve ${srv[*]}, redis $redis, loadtest and its workers $tool," \
  "rest (postgres and everything else on the machine) $(echo "scale=1; ($busy - $srvsum)/$TICK - $redis - $tool" | bc)"
exit $rc
