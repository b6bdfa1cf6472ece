#!/usr/bin/env bash
# services.sh: make sure Postgres and Redis answer at the configured URLs.
# Uses servers that already answer; otherwise installs them with apt-get when
# missing and starts private instances on loopback with data under .data/
# (git-ignored). Safe to run again: it does nothing when both answer.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DATA=$ROOT/.data
PGURL=${KEPU_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kepu?sslmode=disable}
REDISURL=${KEPU_REDIS_URL:-redis://127.0.0.1:6379/0}

# host and port from a URL: scheme://[user@]host:port/...
hostport() { local u=${1#*://}; u=${u#*@}; u=${u%%/*}; echo "$u"; }
PGHP=$(hostport "$PGURL"); PGHOST=${PGHP%:*}; PGPORT=${PGHP##*:}
RHP=$(hostport "$REDISURL"); RHOST=${RHP%:*}; RPORT=${RHP##*:}
DBNAME=${PGURL##*/}; DBNAME=${DBNAME%%\?*}

say() { echo "services: $*"; }
apt_updated=
need_pkg() { # need_pkg command package...
  local cmd=$1; shift
  if ! command -v "$cmd" >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/"$cmd" >/dev/null 2>&1; then
    say "installing $*"
    if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

pg_up() { (exec 3<>"/dev/tcp/$PGHOST/$PGPORT") 2>/dev/null; }
redis_up() { (exec 3<>"/dev/tcp/$RHOST/$RPORT") 2>/dev/null; }

if pg_up; then
  say "postgres answers on $PGHOST:$PGPORT"
else
  need_pkg initdb postgresql
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  mkdir -p "$DATA"
  if [ ! -s "$DATA/pg/PG_VERSION" ]; then
    say "creating a private postgres cluster in .data/pg"
    mkdir -p "$DATA/pg"; chown postgres:postgres "$DATA/pg" 2>/dev/null || true
    chmod 700 "$DATA/pg"
    runuser -u postgres -- "$PGBIN/initdb" -D "$DATA/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  say "starting postgres on $PGHOST:$PGPORT"
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA/pg" -l "$DATA/pg.log" -w \
    -o "-c listen_addresses=$PGHOST -p $PGPORT -k /tmp" start >/dev/null
fi

if redis_up; then
  say "redis answers on $RHOST:$RPORT"
else
  need_pkg redis-server redis-server
  mkdir -p "$DATA/redis"
  say "starting redis on $RHOST:$RPORT"
  redis-server --daemonize yes --bind "$RHOST" --port "$RPORT" --save "" --appendonly no \
    --dir "$DATA/redis" --logfile "$DATA/redis.log"
fi

for _ in $(seq 1 50); do pg_up && redis_up && break; sleep 0.2; done
pg_up || { say "postgres did not start (see .data/pg.log)"; exit 1; }
redis_up || { say "redis did not start (see .data/redis.log)"; exit 1; }

# The application database (tests make their own).
if command -v psql >/dev/null 2>&1; then
  if ! psql -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'" | grep -q 1; then
    say "creating database $DBNAME"
    psql -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -qc "CREATE DATABASE \"$DBNAME\"" >/dev/null
  fi
fi
