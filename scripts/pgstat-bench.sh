#!/usr/bin/env bash
# pgstat-bench.sh: play the campaign load test against a private Postgres 15
# with pg_stat_statements and report what Postgres did per acknowledged
# answer (docs/benchmarks.md, "Group commit"): statements, WAL records and
# bytes, WAL flushes and commits.
#
#   scripts/pgstat-bench.sh [loadtest campaign flags …]
#   scripts/pgstat-bench.sh --users 300 --think 0 --questions 20 --duration 90s
#   scripts/pgstat-bench.sh --users 300 --think 0 --reference 20s --duration 110s
#
# Each run starts from nothing: initdb in a temporary directory, Postgres on
# its own port (default settings, fsync and synchronous_commit on, plus
# shared_preload_libraries=pg_stat_statements), a freshly built kepu
# migrated, seeded and served on its own port with its own Redis prefix,
# then `loadtest campaign` (its checks included) under the shared
# /tmp/kepu-loadrun.lock, then the counters. Everything it started is
# stopped by PID at exit. The counters are reset (pg_stat_statements_reset,
# pg_stat_reset_shared('wal')) right before the load test, so with
# --reference they include the reference's inserts: take per-answer figures
# from a run without it.
#
# Environment: PGSTAT_PG_PORT (55416), PGSTAT_KEPU_PORT (18166),
# PGSTAT_PG_OPTS adds Postgres settings ("-c name=value …", for
# diagnostics only: the figures of record use the defaults),
# PGSTAT_KEEP=1 keeps the temporary directory (logs, loadtest.json),
# PGSTAT_PROFILE=FILE writes the server's CPU profile (20 s, starting
# PGSTAT_PROFILE_AT=40 s into the load test; read it with
# `go tool pprof -top FILE`). The active backends' wait events are sampled
# once a second and summed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PG_PORT=${PGSTAT_PG_PORT:-55416}
KEPU_PORT=${PGSTAT_KEPU_PORT:-18166}
PGBIN=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
TMP=$(mktemp -d /tmp/pgstat-bench.XXXXXX)
chmod 755 "$TMP"
KEPU_PID= SAMPLER_PID= PROFILE_PID=
say() { echo "pgstat-bench: $*" >&2; }

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
	if [ -n "$SAMPLER_PID" ]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
	if [ -n "$KEPU_PID" ]; then kill "$KEPU_PID" 2>/dev/null || true; wait "$KEPU_PID" 2>/dev/null || true; fi
	if [ -f "$TMP/pg/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -m fast -w stop >/dev/null 2>&1 || true; fi
	if [ "${PGSTAT_KEEP:-}" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

say "building kepu and loadtest"
go build -o "$TMP/kepu" ./cmd/kepu
go build -o "$TMP/loadtest" ./loadtest

say "private postgres on 127.0.0.1:$PG_PORT ($TMP/pg)"
mkdir -p "$TMP/pg" && chmod 700 "$TMP/pg"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$TMP/pg"
as_pg "$PGBIN/initdb" -D "$TMP/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$TMP/pg" -l "$TMP/pg/server.log" -w \
	-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k '' -c max_connections=200 -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top -c pg_stat_statements.max=10000 -c wal_keep_size=4GB ${PGSTAT_PG_OPTS:-}" \
	start >/dev/null
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
"${PSQL[@]}" -d postgres -c 'CREATE DATABASE kepu'
"${PSQL[@]}" -d kepu -c 'CREATE EXTENSION pg_stat_statements'

export KEPU_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/kepu?sslmode=disable"
export KEPU_REDIS_PREFIX="kepupgstat$$" KEPU_ADDR="127.0.0.1:$KEPU_PORT" KEPU_PPROF=true KEPU_LOG_LEVEL=warn
# Logins queue for the argon2id hasher (2 cores) instead of failing: the
# tool measures answers/s only once every citizen has logged in.
export KEPU_HASH_WAIT=${KEPU_HASH_WAIT:-30s} KEPU_REQUEST_TIMEOUT=${KEPU_REQUEST_TIMEOUT:-30s}
say "kepu migrate, seed, serve on $KEPU_ADDR"
"$TMP/kepu" migrate >/dev/null
"$TMP/kepu" seed --quiet >/dev/null
"$TMP/kepu" user create --username load-org --role organizer --password load-org-pass-123 >/dev/null
ulimit -n 20000 || true
"$TMP/kepu" serve >"$TMP/kepu.log" 2>&1 &
KEPU_PID=$!
for _ in $(seq 100); do
	curl -fsS -o /dev/null "http://$KEPU_ADDR/healthz" 2>/dev/null && break
	sleep 0.2
done
curl -fsS -o /dev/null "http://$KEPU_ADDR/healthz"

q() { "${PSQL[@]}" -d kepu -At -c "$1"; }
# CPU seconds of a process (with its waited-for children: the postmaster
# collects its exited backends' time) and of Postgres as a whole.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"; }
pg_cpu() {
	local pm; pm=$(head -1 "$TMP/pg/postmaster.pid")
	{ cpu "$pm"; echo; for c in $(pgrep -P "$pm" || true); do cpu "$c" 2>/dev/null && echo || true; done; } |
		awk '{ s += $1 } END { printf "%.1f", s }'
}
kepu_cpu0=$(cpu "$KEPU_PID") pg_cpu0=$(pg_cpu)
q "SELECT pg_stat_statements_reset(), pg_stat_reset_shared('wal'), pg_stat_reset()" >/dev/null
commits0=$(q "SELECT xact_commit FROM pg_stat_database WHERE datname = 'kepu'")
lsn0=$(q "SELECT pg_current_wal_insert_lsn()")
date -u +"pgstat-bench: load test from %F %T UTC, $(uptime | sed 's/.*load/load/')" >&2
# What Postgres backends wait on, sampled every second during the run.
( while sleep 1; do q "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
	WHERE datname = 'kepu' AND state = 'active' AND pid <> pg_backend_pid()" 2>/dev/null; done >"$TMP/waits.txt" ) &
SAMPLER_PID=$!
# PGSTAT_PROFILE=file: the server's CPU profile, 20 s from PGSTAT_PROFILE_AT (40) s into the run.
if [ -n "${PGSTAT_PROFILE:-}" ]; then
	( sleep "${PGSTAT_PROFILE_AT:-40}"; curl -fsS -o "$PGSTAT_PROFILE" "http://$KEPU_ADDR/debug/pprof/profile?seconds=20" ) &
	PROFILE_PID=$!
fi
set +e
flock /tmp/kepu-loadrun.lock /usr/bin/time -f '%U %S' -o "$TMP/loadtest.cpu" "$TMP/loadtest" campaign --url "http://$KEPU_ADDR" --database-url "$KEPU_DATABASE_URL" \
	--admin load-org --admin-password load-org-pass-123 --json "$@" >"$TMP/loadtest.json"
rc=$?
kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null
[ -n "${PROFILE_PID:-}" ] && wait "$PROFILE_PID"
set -e
date -u +"pgstat-bench: load test until %F %T UTC, $(uptime | sed 's/.*load/load/')" >&2
cat "$TMP/loadtest.json"
kepu_cpu1=$(cpu "$KEPU_PID") pg_cpu1=$(pg_cpu)
# Stop kepu first: backends flush their pending statistics as they exit.
kill "$KEPU_PID"; wait "$KEPU_PID" 2>/dev/null || true; KEPU_PID=
sleep 1
commits1=$(q "SELECT xact_commit FROM pg_stat_database WHERE datname = 'kepu'")
lsn1=$(q "SELECT pg_current_wal_insert_lsn()")
answers=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counters"].get("answers", 0))' "$TMP/loadtest.json")
[ "$answers" -gt 0 ] || { say "no acknowledged answers"; exit 1; }

echo
echo "== per acknowledged answer ($answers answers; counters reset right before the load test) =="
q "SELECT format('statements %s (%s per answer), WAL records %s (%s), WAL bytes %s (%s), WAL full-page images %s (%s), WAL flushes %s (%s), commits %s (%s)',
	s.calls, round(s.calls::numeric / $answers, 2), w.wal_records, round(w.wal_records::numeric / $answers, 2),
	w.wal_bytes, round(w.wal_bytes / $answers), w.wal_fpi, round(w.wal_fpi::numeric / $answers, 2),
	w.wal_sync, round(w.wal_sync::numeric / $answers, 3), $commits1 - $commits0, round(($commits1 - $commits0)::numeric / $answers, 3))
FROM (SELECT sum(calls) AS calls FROM pg_stat_statements) s, pg_stat_wal w"
echo "CPU seconds during the load test: kepu $(echo "$kepu_cpu1 - $kepu_cpu0" | bc), postgres $(echo "$pg_cpu1 - $pg_cpu0" | bc), loadtest $(awk '{ print $1 + $2 }' "$TMP/loadtest.cpu" 2>/dev/null)"
echo
echo "== statements by calls (per answer; WAL bytes per call; mean ms) =="
q "SELECT format('%8s %6s %7s %6s  %s', calls, round(calls::numeric / $answers, 3), round(wal_bytes / greatest(calls, 1)),
	round(mean_exec_time::numeric, 2), left(regexp_replace(query, '\s+', ' ', 'g'), 110))
FROM pg_stat_statements ORDER BY calls DESC LIMIT 15"
echo
echo "== statements by WAL bytes (WAL bytes per answer; calls; mean ms) =="
q "SELECT format('%8s %8s %7s  %s', round(wal_bytes / $answers), calls, round(mean_exec_time::numeric, 2),
	left(regexp_replace(query, '\s+', ' ', 'g'), 110))
FROM pg_stat_statements ORDER BY wal_bytes DESC LIMIT 8"
echo
echo "== rows written by table (HOT: updates that wrote no index entry) =="
q "SELECT format('%-28s inserted %8s, updated %8s (HOT %8s)', relname, n_tup_ins, n_tup_upd, n_tup_hot_upd)
FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd > 0 ORDER BY n_tup_ins + n_tup_upd DESC LIMIT 8"
echo
echo "== WAL of the load test by record type (pg_waldump --stats=record $lsn0 … $lsn1) =="
as_pg "$PGBIN/pg_waldump" --stats=record -p "$TMP/pg/pg_wal" -s "$lsn0" -e "$lsn1" 2>/dev/null |
	python3 -c '
import re, sys
n = int(sys.argv[1])
rows = []
for line in sys.stdin:
    m = re.match(r"(\S+)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)\s+\(\s*[\d.]+\)\s+(\d+)", line)
    if m:
        rows.append((int(m[5]), m[1], int(m[2])))
print("%-36s %12s %14s" % ("record type", "per answer", "bytes/answer"))
for size, kind, count in sorted(rows, reverse=True)[:14]:
    print("%-36s %12.2f %14.0f" % (kind, count / n, size / n))
' "$answers" || true
echo
echo "== active backends' wait events, sampled once a second (samples) =="
sort "$TMP/waits.txt" | uniq -c | sort -rn | head -12
exit $rc
