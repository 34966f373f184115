#!/usr/bin/env bash
# Sign-in throughput and a legitimate sign-in under a flood (issue 12, point 3), release build.
#   bench/signin.sh [path/to/assay-server]   (default: this tree's release build)
# Runs the given server on loopback with the embedded defaults; the client is bench/signin.py.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then server=$(realpath "$1"); else swift build -c release --product assay-server >/dev/null 2>&1; server=$PWD/.build/release/assay-server; fi
source scripts/release-server.sh
export TRUSTED_PROXIES=127.0.0.1  # the client gives each attempt its own address in X-Forwarded-For
email="bench@signin-bench.example"
start_release_server "$server" 18481 "$email"
ASSAY_EMAIL="$email" python3 bench/signin.py
