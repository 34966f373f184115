# Sourced by the scripts that drive a release assay-server on loopback (security/bruteforce.sh,
# bench/signin.sh): `start_release_server BINARY PORT EMAIL` sets the embedded defaults up in a
# temporary directory (quickstart, no scan), serves, waits until it answers, and stops it and
# removes the directory when the script exits. Exports ASSAY_BASE and ASSAY_DATA_DIR for the client.
start_release_server() {
  local binary=$1 port=$2 email=$3
  release_work=$(mktemp -d /tmp/assay-release-server.XXXXXX)
  export ASSAY_DATA_DIR="$release_work/data" ASSAY_PORT=$port ASSAY_INGEST_WORKERS=0 ASSAY_BASE="http://127.0.0.1:$port"
  release_server_pid=""
  trap 'stop_release_server' EXIT
  "$binary" quickstart --no-scan --admin-email "$email" >/dev/null
  "$binary" serve > "$release_work/server.log" 2>&1 &
  release_server_pid=$!
  for _ in $(seq 1 100); do curl -sf "$ASSAY_BASE/health" >/dev/null && return 0; sleep 0.1; done
  echo "the server did not start: $release_work/server.log" >&2
  return 1
}

stop_release_server() {
  [ -n "${release_server_pid:-}" ] && kill "$release_server_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "${release_work:?}"
}
