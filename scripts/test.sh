#!/usr/bin/env bash
# Runs every test: the README's test command. Starts the real servers the tests need (PostgreSQL on
# loopback) and stops them afterwards, whatever happens.
#   scripts/test.sh [extra swift test arguments, e.g. --filter GnuPG]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/test-services.sh
trap stop_test_services EXIT
start_postgres
swift build --build-tests
swift test --skip-build "$@"
# The portal in a real Chromium against the real server binary (screenshots in .build/screenshots).
if [ $# -eq 0 ]; then
  ASSAY_SERVER_BINARY="$PWD/.build/debug/assay-server" python3 -m pytest -q Integration/browser
fi
