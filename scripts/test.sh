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
# The portal in a real Chromium against the real server binary (screenshots in .build/screenshots),
# then the console end to end: real sshd hosts in network namespaces, a real slapd, real SMTP.
if [ $# -eq 0 ]; then
  ASSAY_SERVER_BINARY="$PWD/.build/debug/assay-server" python3 -m pytest -q Integration/browser
  ASSAY_BIN_DIR="$PWD/.build/debug" python3 -m pytest -q Integration/console
fi
