#!/usr/bin/env bash
# Starts the real servers the tests use, each on its own loopback port, and prints the environment
# the tests read. Sourced by scripts/test.sh; `stop_test_services` stops them.
#   PostgreSQL 15: a throw-away cluster on 127.0.0.1:${ASSAY_TEST_PG_PORT:-54329}, trust auth on loopback,
#   fsync off unless ASSAY_TEST_PG_FSYNC=on (the benchmark turns it on: a durable 202 costs a sync);
#   ASSAY_TEST_PG_OPTIONS adds server options (the benchmark's statement statistics).

pg_bin=/usr/lib/postgresql/15/bin
pg_port="${ASSAY_TEST_PG_PORT:-54329}"
pg_dir=""

start_postgres() {
  [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL 15 is not installed (scripts/install-deps.sh)" >&2; return 1; }
  pg_dir=$(mktemp -d /tmp/assay-test-pg.XXXXXX)
  chown postgres:postgres "$pg_dir"
  # PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres --no-sync >/dev/null
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$pg_dir -c fsync=${ASSAY_TEST_PG_FSYNC:-off} -c max_connections=200 ${ASSAY_TEST_PG_OPTIONS:-}" start >/dev/null
  export ASSAY_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
  echo "PostgreSQL test server on 127.0.0.1:$pg_port"
}

stop_test_services() {
  if [ -n "$pg_dir" ] && [ -d "$pg_dir/data" ]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
}
