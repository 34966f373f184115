#!/usr/bin/env bash
# Bot benchmark, side by side with fusioninventory-agent and ocsinventory-agent from Debian.
#   bench/bot.sh [runs]        (default 10; release build; installs the peers with apt if missing)
# Prints median wall time, peak RSS and output size of one inventory for each tool, the ratios,
# the bot's size as shipped, and the sampler's cost and output per device-day.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
need=()
for package in fusioninventory-agent ocsinventory-agent dmidecode time; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || need+=("$package")
done
if ((${#need[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
bash scripts/build-bot.sh >/dev/null
swift build -c release --product assay-server >/dev/null
swift build -c release --product bot-bench >/dev/null
bot=dist/assay-bot
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.build/release/assay-server key generate --user-id "Bench <bench@assay.invalid>" --bits 3072 \
  --secret-out "$work/tenant.sec.asc" --public-out "$work/tenant.asc" >/dev/null

# measure NAME COMMAND…: runs it $runs times; prints "median_seconds median_peak_kib"
measure() {
  local name=$1; shift
  : > "$work/$name.times"
  for _ in $(seq "$runs"); do
    # Wall time from the clock in nanoseconds (time's %e has 10 ms steps, as long as a whole
    # inventory of the bot); peak RSS from time.
    local started ended
    started=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/$name.one" "$@" >/dev/null 2>&1 || true
    ended=$(date +%s%N)
    echo "$(echo "($ended - $started) / 1000000000" | bc -l) $(tail -1 "$work/$name.one")" >> "$work/$name.times"
  done
  python3 - "$work/$name.times" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
print(statistics.median(float(r[0]) for r in rows), int(statistics.median(int(r[1]) for r in rows)))
PY
}

read -r assay_s assay_kib < <(measure assay "$bot" inventory --recipient "$work/tenant.asc" --out "$work/inventory.pgp")
mkdir -p "$work/fusion" "$work/ocs"
read -r fusion_s fusion_kib < <(measure fusion fusioninventory-agent --local "$work/fusion" --no-category=printer)
read -r ocs_s ocs_kib < <(measure ocs ocsinventory-agent --local="$work/ocs")
assay_bytes=$(stat -c %s "$work/inventory.pgp")
fusion_file=$(ls -t "$work"/fusion/* | head -1); ocs_file=$(ls -t "$work"/ocs/* | head -1)
fusion_bytes=$(gzip -9 -c "$fusion_file" | wc -c); ocs_bytes=$(gzip -9 -c "$ocs_file" | wc -c)
packages=$(dpkg-query -W | wc -l)
"$bot" inventory > "$work/inventory.json"

python3 - "$assay_s" "$assay_kib" "$assay_bytes" "$fusion_s" "$fusion_kib" "$fusion_bytes" "$ocs_s" "$ocs_kib" "$ocs_bytes" "$packages" "$(stat -c %s "$work/inventory.json")" <<'PY'
import sys
a_s, a_k, a_b, f_s, f_k, f_b, o_s, o_k, o_b, pkgs, json_b = map(float, sys.argv[1:])
print(f"inventory of this machine ({int(pkgs)} dpkg packages), median of runs:")
print(f"{'tool':24} {'wall s':>8} {'peak RSS MiB':>13} {'output B':>9}")
print(f"{'assay-bot (encrypted)':24} {a_s:8.4f} {a_k/1024:13.1f} {int(a_b):9d}   (JSON before compression: {int(json_b)} B)")
print(f"{'fusioninventory-agent':24} {f_s:8.3f} {f_k/1024:13.1f} {int(f_b):9d}   (XML, gzip -9)")
print(f"{'ocsinventory-agent':24} {o_s:8.3f} {o_k/1024:13.1f} {int(o_b):9d}   (XML, gzip -9)")
def r(x, y): return f"{x/y:.1f}x" if y else "n/a"
print(f"ratios vs fusioninventory-agent: {r(f_s, a_s)} faster, {r(f_k, a_k)} less memory, {r(f_b, a_b)} smaller output")
print(f"ratios vs ocsinventory-agent:    {r(o_s, a_s)} faster, {r(o_k, a_k)} less memory, {r(o_b, a_b)} smaller output")
PY

echo
echo "bot as shipped:"; bash scripts/build-bot.sh | sed 's/^/  /'
echo
per_sample=$(.build/release/bot-bench sample-cost 2000)
/usr/bin/time -f "%U %S %M" -o "$work/sampler.time" "$bot" sample --recipient "$work/tenant.asc" --out-dir "$work" \
  --interval 1s --bucket 5s --duration 30s --file-every 30s >/dev/null 2>&1
read -r user sys sampler_kib < "$work/sampler.time"
day_hourly=$(.build/release/bot-bench day-size "$work/tenant.asc" 24)
day_daily=$(.build/release/bot-bench day-size "$work/tenant.asc" 1)
python3 - "$per_sample" "$user" "$sys" "$sampler_kib" "$day_hourly" "$day_daily" <<'PY'
import sys
per, u, s, kib, hourly, daily = sys.argv[1:]
print("sampler:")
print(f"  CPU per sample (read + parse + aggregate, in process): {float(per)/1000:.3f} ms")
print(f"  whole process, 30 samples at 1 s incl. start and 1 encrypted file: {(float(u)+float(s))*1000:.0f} ms CPU, peak RSS {int(kib)/1024:.1f} MiB")
print(f"  encrypted output per device-day (20 s samples, 5 min buckets, connections, RSA-3072):")
print(f"    one file per hour: {int(hourly)} B    one file per day: {int(daily)} B")
PY
