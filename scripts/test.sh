#!/usr/bin/env bash
# Runs every test: the README's test command. Starts what the tests need and stops it afterwards.
#   scripts/test.sh [extra swift test arguments, e.g. --filter GnuPG]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build "$@"
