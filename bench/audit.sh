#!/usr/bin/env bash
# Audit log appends per second (issue 12, point 10), release build: 1 and 8 tenants appending at
# once, on the embedded SQLite catalog and on PostgreSQL 15 (fsync on), each for SECONDS.
#   bench/audit.sh [seconds]     (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
swift build -c release --product audit-bench >/dev/null
export ASSAY_TEST_PG_PORT=54369 ASSAY_TEST_PG_FSYNC=on
source scripts/test-services.sh
trap stop_test_services EXIT
start_postgres >/dev/null
for tenants in 1 8; do
  echo -n "sqlite:   "; env -u DATABASE_URL .build/release/audit-bench "$tenants" "$seconds"
  psql "postgres://postgres@127.0.0.1:54369/postgres" -qc "DROP DATABASE IF EXISTS audit_bench" -c "CREATE DATABASE audit_bench" >/dev/null
  echo -n "postgres: "; DATABASE_URL="postgres://postgres@127.0.0.1:54369/audit_bench" .build/release/audit-bench "$tenants" "$seconds"
done
