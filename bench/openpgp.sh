#!/usr/bin/env bash
# OpenPGP benchmark: Assay (in process, and as a command) against GnuPG on the same files.
#   bench/openpgp.sh [iterations]      (release build; default 200 in-process, 20 per command)
# Prints, for a 50 KB and a 5 MB JSON document and RSA-2048/3072 keys: message sizes, encrypt and
# decrypt time per message, and ratios. Not a test: it reports numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
iterations="${1:-200}"
runs=20
swift build -c release --product assay-server >/dev/null
swift build -c release --product openpgp-bench >/dev/null
server=.build/release/assay-server
bench=.build/release/openpgp-bench
work=$(mktemp -d)
export GNUPGHOME="$work/gnupg"; mkdir -m 700 "$GNUPGHOME"
trap 'gpgconf --kill gpg-agent 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$work" <<'PY'
import json, sys, random
random.seed(1)
def doc(target):
    items, i, length = [], 0, 0
    while length < target:
        items.append({"name": f"lib{random.choice(['ssl','xml2','curl','z','gnutls','pq','systemd'])}-{i%400}",
                      "version": f"{i%9}.{i%17}.{i%31}-{i%4}+deb12u{i%3}", "arch": random.choice(["amd64","all"]),
                      "source": "debian", "installedSize": random.randint(10, 90000)})
        length += len(json.dumps(items[-1])) + 1
        i += 1
    return json.dumps({"schema": 1, "software": items}, separators=(",", ":"))
open(f"{sys.argv[1]}/50k.json", "w").write(doc(50_000))
open(f"{sys.argv[1]}/5m.json", "w").write(doc(5_000_000))
PY

ms() { python3 -c "import sys; print(f'{float(sys.argv[1])/1000:.3f}')" "$1"; }
time_cmd() {  # median wall time in µs of a command run $runs times
  local samples=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N); "$@" >/dev/null 2>&1; end=$(date +%s%N)
    samples+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

printf '%-6s %-5s %10s %10s %9s %12s %12s %12s %12s %12s %12s\n' key doc assay_B gpg_B size_% assay_enc_ms assay_dec_ms cmd_enc_ms cmd_dec_ms gpg_enc_ms gpg_dec_ms
for bits in 2048 3072; do
  "$server" key generate --user-id "Bench $bits <bench@assay.invalid>" --bits "$bits" --secret-out "$work/k$bits.asc" --public-out "$work/k$bits.pub" >/dev/null
  gpg --batch --quiet --import "$work/k$bits.asc" 2>/dev/null
  fpr=$(gpg --with-colons --list-keys "Bench $bits" | awk -F: '/^fpr/ {print $10; exit}')
  for doc in 50k 5m; do
    n=$iterations; [ "$doc" = 5m ] && n=10
    read -r _ assay_size enc_us dec_us < <("$bench" "$work/k$bits.asc" "$work/$doc.json" "$n" zlib)
    gpg --batch --yes --trust-model always --compress-algo zlib -e -r "$fpr" -o "$work/$doc.$bits.gpg" "$work/$doc.json"
    gpg_size=$(stat -c %s "$work/$doc.$bits.gpg")
    "$server" key encrypt --recipient "$work/k$bits.pub" --in "$work/$doc.json" --out "$work/$doc.$bits.assay"
    cmd_enc=$(time_cmd "$server" key encrypt --recipient "$work/k$bits.pub" --in "$work/$doc.json")
    cmd_dec=$(time_cmd "$server" key decrypt --secret-key "$work/k$bits.asc" --in "$work/$doc.$bits.assay")
    gpg_enc=$(time_cmd gpg --batch --yes --trust-model always --compress-algo zlib -e -r "$fpr" -o - "$work/$doc.json")
    gpg_dec=$(time_cmd gpg --batch --yes -d "$work/$doc.$bits.gpg")
    pct=$(python3 -c "print(f'{($assay_size-$gpg_size)*100/$gpg_size:+.2f}')")
    printf '%-6s %-5s %10s %10s %9s %12s %12s %12s %12s %12s %12s\n' "rsa$bits" "$doc" "$assay_size" "$gpg_size" "$pct" \
      "$(ms "$enc_us")" "$(ms "$dec_us")" "$(ms "$cmd_enc")" "$(ms "$cmd_dec")" "$(ms "$gpg_enc")" "$(ms "$gpg_dec")"
  done
done
echo
echo "assay_enc/dec: in process (median of $iterations, 10 for 5m). cmd_* and gpg_*: whole process, median of $runs."
echo "Targets: 50 KB decrypt <= 0.7 ms (rsa2048) and <= 2 ms (rsa3072) in process; size within 2% of gpg."
