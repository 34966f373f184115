#!/usr/bin/env bash
# The one command that brings Assay up on the embedded defaults and shows it working:
# builds (release), sets up the catalog and a first tenant, scans this machine with the bot, and
# serves the portal on http://127.0.0.1:8080 until Ctrl-C.
#   scripts/quickstart.sh [--admin-email you@yourcompany.example]
set -euo pipefail
cd "$(dirname "$0")/.."
email="owner@assay.localhost"
if [ "${1:-}" = "--admin-email" ] && [ -n "${2:-}" ]; then email="$2"; fi

echo "== building (the first build takes about 10 minutes on 2 cores)"
swift build -c release --product assay-server
swift build -c release --product assay-bot
server=.build/release/assay-server
bot=.build/release/assay-bot

echo "== setting up the embedded defaults in ./data"
"$server" quickstart --admin-email "$email"

echo "== scanning this machine (dry run: exactly what the bot would send)"
mkdir -p data
"$bot" inventory > data/this-machine-inventory.json
python3 - <<'PY'
import json
d = json.load(open("data/this-machine-inventory.json"))
print(f"   host {d['header']['device']['hostname']}, {d['system']['os'].get('prettyName')}, "
      f"{d['cpu']['threads']} CPU threads, {d['memory']['totalBytes'] // 2**20} MiB memory, "
      f"{len(d['software']['name'])} packages, {len(d['listeningPorts'])} listening ports")
print("   full document: data/this-machine-inventory.json (uploading it arrives with the upload pipeline)")
PY

invitation=$(ls -t data/outbox/*.eml | tail -1)
link=$(grep -o 'http://[^ ]*/register#[^ ]*' "$invitation" | tr -d '\r')
cat <<TXT
== Assay is up
   Portal:     http://127.0.0.1:8080
   Register:   open the link in $invitation
               (it is $link)
   Then sign in at http://127.0.0.1:8080/signin as $email; a new browser gets a 7-digit code,
   written as another .eml file to data/outbox.
   Ctrl-C stops the server.
TXT
exec "$server" serve
