#!/usr/bin/env bash
# Sign-in throughput and a legitimate sign-in under a flood (issue 12, point 3), release build.
#   bench/signin.sh [path/to/assay-server]   (default: this tree's release build)
# Runs the given server on loopback with the embedded defaults; the client is bench/signin.py.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then server=$(realpath "$1"); else swift build -c release --product assay-server >/dev/null 2>&1; server=$PWD/.build/release/assay-server; fi
work=$(mktemp -d /tmp/assay-signin-bench.XXXXXX)
port=18481
export ASSAY_DATA_DIR="$work/data" ASSAY_PORT=$port ASSAY_INGEST_WORKERS=0 TRUSTED_PROXIES=127.0.0.1
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
email="bench@signin-bench.example"
"$server" quickstart --no-scan --admin-email "$email" >/dev/null
"$server" serve > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
ASSAY_BASE="http://127.0.0.1:$port" ASSAY_EMAIL="$email" python3 bench/signin.py
