#!/usr/bin/env bash
# Brute force against a release build of assay-server on loopback (issue 12): passwords in
# parallel, codes in parallel, random session tokens, random and revoked upload tokens. Prints for
# each how many attempts were compared, when the lock or throttle started, and what was audited.
#   bash security/bruteforce.sh        (about a minute after the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product assay-server >/dev/null 2>&1
source scripts/release-server.sh
email="jane.doe@bruteforce.example"
start_release_server "$PWD/.build/release/assay-server" 18471 "$email"
ASSAY_EMAIL="$email" python3 security/bruteforce.py
