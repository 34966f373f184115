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
build="${ASSAY_BUILD_CONFIGURATION:-release}"   # debug: quicker to build, for trying the script
swift build -c "$build" --product assay-server
swift build -c "$build" --product assay-bot
server=.build/$build/assay-server
bot=.build/$build/assay-bot

echo "== setting up the embedded defaults in ./data"
setup=$("$server" quickstart --admin-email "$email")
echo "$setup" | sed 's/^/   /'
tenant=$(echo "$setup" | sed -n 's/^tenant-id: //p')
port="${ASSAY_PORT:-8080}"
base="http://127.0.0.1:$port"

echo "== starting the service on $base"
"$server" serve > data/server.log 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.2; done

echo "== scanning this machine with the bot, encrypted to the tenant's public key"
mkdir -p data/first-run
"$server" keys public --tenant "$tenant" > data/first-run/tenant-public.asc
"$bot" inventory > data/first-run/this-machine-inventory.json        # the dry run: exactly what is sent
"$bot" inventory --recipient data/first-run/tenant-public.asc --out data/first-run/inventory.pgp
echo "   sampling consumption and connections for 20 seconds…"
"$bot" sample --recipient data/first-run/tenant-public.asc --out-dir data/first-run \
  --interval 2s --bucket 10s --duration 20s --file-every 20s --connections-every 10s >/dev/null

echo "== uploading through the API with an upload-only token, then ingesting"
token=$("$server" upload-token --tenant "$tenant" --hours 1)
ids=()
for file in data/first-run/*.pgp; do
  digest=$(sha256sum "$file" | cut -d' ' -f1)
  # The token goes to curl on standard input, never on its command line (where ps would show it).
  answer=$(printf 'Authorization: Bearer %s\n' "$token" | curl -s -H @- -H "X-Content-SHA256: $digest" \
    -H "Content-Type: application/octet-stream" --data-binary "@$file" "$base/api/v1/uploads")
  ids+=("$(echo "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')")
done
for id in "${ids[@]}"; do
  for _ in $(seq 1 150); do
    state=$(printf 'Authorization: Bearer %s\n' "$token" | curl -s -H @- "$base/api/v1/uploads/$id" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d.get("kind") or "", d.get("failure") or "")')
    case "$state" in done*|failed*) break ;; esac
    sleep 0.2
  done
  echo "   upload $id: $state"
done
unset token
python3 - <<'PY'
import json
d = json.load(open("data/first-run/this-machine-inventory.json"))
print(f"   this machine: {d['header']['device']['hostname']}, {d['system']['os'].get('prettyName')}, "
      f"{d['cpu']['threads']} CPU threads, {d['memory']['totalBytes'] // 2**20} MiB memory, "
      f"{len(d['software']['name'])} packages, {len(d['listeningPorts'])} listening ports")
PY

invitation=$(ls -t data/outbox/*.eml | tail -1)
link=$(grep -o 'http://[^ ]*/register#[^ ]*' "$invitation" | tr -d '\r')
cat <<TXT
== Assay is up
   Portal:     $base
   Register:   open the link in $invitation
               (it is $link)
   Then sign in at $base/signin as $email; a new browser gets a 7-digit code,
   written as another .eml file to data/outbox. The dashboard shows this machine.
   Ctrl-C stops the server (log: data/server.log).
TXT
wait $server_pid
