#!/usr/bin/env bash
# The one command that brings Assay up on the embedded defaults and shows it working:
# builds (release), sets up the catalog and a first tenant, scans this machine with the bot through
# the real upload API (`assay-server quickstart` does that), and serves the portal on
# http://127.0.0.1:8080 until Ctrl-C.
#   scripts/quickstart.sh [--admin-email you@yourcompany.example]
set -euo pipefail
cd "$(dirname "$0")/.."
email="owner@assay.localhost"
if [ "${1:-}" = "--admin-email" ] && [ -n "${2:-}" ]; then email="$2"; fi

echo "== building (the first build takes about 10 minutes on 2 cores)"
build="${ASSAY_BUILD_CONFIGURATION:-release}"   # debug: quicker to build, for trying the script
swift build -c "$build" --product assay-server
swift build -c "$build" --product assay-bot
server=.build/$build/assay-server

echo "== setting up the embedded defaults in ./data, and a first scan of this machine"
echo "   (the bot's inventory and a 20-second sample, encrypted to the new tenant's key, uploaded"
echo "    through the upload API with an upload-only token, then ingested)"
# Progress is shown as it happens (each step prints a line as it starts).
"$server" quickstart --admin-email "$email" --sample-seconds "${ASSAY_SAMPLE_SECONDS:-20}" 2>&1 | sed -u 's/^/   /'
port="${ASSAY_PORT:-8080}"
base="http://127.0.0.1:$port"

echo "== starting the service on $base"
"$server" serve > data/server.log 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.2; done

# The newest invitation to this address (a second run must not print an older, used link).
invitation=$(grep -l "/register#" data/outbox/*.eml 2>/dev/null | xargs -r ls -t | head -1)
link=$(grep -o 'http://[^ ]*/register#[^ ]*' "$invitation" | tr -d '\r')
cat <<TXT
== Assay is up
   Portal:     $base
   Register:   open the link in $invitation
               (it is $link; already registered? just sign in)
   Then sign in at $base/signin as $email; a new browser gets a 7-digit code,
   written as another .eml file to data/outbox. The dashboard shows this machine.
   The console: download the bundle from the dashboard, then
     swift build -c $build --product assay && .build/$build/assay init assay-console-bundle.json
     .build/$build/assay login   (docs/console.md: devices, scans, uploads)
   Ctrl-C stops the server (log: data/server.log).
TXT
wait $server_pid
