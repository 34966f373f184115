#!/usr/bin/env bash
# Brute force against a release build of assay-server on loopback (issue 12): passwords in
# parallel, codes in parallel, random session tokens, random and revoked upload tokens. Prints for
# each how many attempts were compared, when the lock or throttle started, and what was audited.
#   bash security/bruteforce.sh        (about a minute after the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product assay-server >/dev/null 2>&1
server=$PWD/.build/release/assay-server
work=$(mktemp -d /tmp/assay-bruteforce.XXXXXX)
port=18471
export ASSAY_DATA_DIR="$work/data" ASSAY_PORT=$port ASSAY_INGEST_WORKERS=0
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
email="jane.doe@bruteforce.example"
"$server" quickstart --no-scan --admin-email "$email" >/dev/null
"$server" serve > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
ASSAY_BASE="http://127.0.0.1:$port" ASSAY_EMAIL="$email" python3 security/bruteforce.py
