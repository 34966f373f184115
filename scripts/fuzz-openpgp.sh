#!/usr/bin/env bash
# Fuzzes the OpenPGP parsers with libFuzzer + AddressSanitizer.
#   scripts/fuzz-openpgp.sh [seconds]   (default 600)
# Builds into .build-fuzz, makes a throw-away key and seeds under Fuzz/work (not committed),
# and prints libFuzzer's final statistics. Exits non-zero if a crash or leak is found.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
work="Fuzz/work"
rm -rf "$work"; mkdir -p "$work/corpus" "$work/artifacts"

echo "== building assay-server (for seeds) and the fuzz target"
swift build -c release --product assay-server >/dev/null
ASSAY_FUZZ=1 swift build -c release --scratch-path .build-fuzz --product openpgp-fuzz \
  --sanitize=fuzzer --sanitize=address >/dev/null
server=".build/release/assay-server"
fuzzer=".build-fuzz/release/openpgp-fuzz"

echo "== seeds"
"$server" key generate --user-id "Fuzz <fuzz@assay.invalid>" --bits 2048 \
  --secret-out "$work/key.asc" --public-out "$work/key.pub.asc" >/dev/null
cp Fuzz/seeds/* "$work/corpus/" 2>/dev/null || true
cp "$work/key.pub.asc" "$work/corpus/public.asc"
cp "$work/key.asc" "$work/corpus/secret.asc"
printf '{"schema":1,"software":[{"name":"openssl","version":"3.0.15"}]}' > "$work/doc.json"
head -c 70000 /dev/urandom > "$work/random.bin"
for compression in zlib zip none; do
  "$server" key encrypt --recipient "$work/key.pub.asc" --compression "$compression" --in "$work/doc.json" --out "$work/corpus/msg-$compression.pgp"
  "$server" key encrypt --recipient "$work/key.pub.asc" --compression "$compression" --armor --in "$work/doc.json" --out "$work/corpus/msg-$compression.asc"
done
"$server" key encrypt --recipient "$work/key.pub.asc" --compression none --in "$work/random.bin" --out "$work/corpus/msg-partial.pgp"
if command -v gpg >/dev/null; then
  export GNUPGHOME="$work/gnupg"; mkdir -p -m 700 "$GNUPGHOME"
  gpg --batch --quiet --import "$work/key.pub.asc" 2>/dev/null
  fpr=$(gpg --with-colons --list-keys | awk -F: '/^fpr/ {print $10; exit}')
  for algo in zlib zip none; do
    gpg --batch --trust-model always --compress-algo "$algo" -e -r "$fpr" -o "$work/corpus/gpg-$algo.pgp" "$work/doc.json"
  done
  gpg --batch --trust-model always -e -r "$fpr" -o "$work/corpus/gpg-stream.pgp" < "$work/random.bin"
  gpgconf --kill gpg-agent 2>/dev/null || true
fi

echo "== fuzzing for ${seconds}s"
ASSAY_FUZZ_KEY="$work/key.asc" "$fuzzer" "$work/corpus" \
  -max_total_time="$seconds" -max_len=100000 -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 2>&1 | tee "$work/fuzz.log" | grep -E "^#[0-9]+ +(INITED|DONE|pulse)|^stat::|ERROR|SUMMARY" || true
if ls "$work/artifacts"/* >/dev/null 2>&1; then
  echo "crash artifacts in $work/artifacts" >&2
  exit 1
fi
