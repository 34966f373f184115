#!/usr/bin/env bash
# Builds the tenant-neutral console archive the portal hands out (CON-5), once per release:
#   dist/assay-console-linux-x86_64.tar.gz     assay-console/{assay, assay-bot, README.txt}
#   dist/assay-console-linux-x86_64.sha256sums their SHA-256 sums
# The portal (GET /assay-console-linux-x86_64.tar.gz, write claim) appends the tenant's bundle and
# the full SHA256SUMS as a second gzip member, so the archive here ends without tar's end blocks.
# `assay` links the Swift standard library statically; `assay-bot` is a static executable whose
# SHA-256 is pinned into `assay` (PinnedBot), so a bot swapped beside it is refused.
#   scripts/build-console.sh                      release build (several minutes)
#   scripts/build-console.sh --from DIR [--out D] pack the assay and assay-bot found in DIR as they
#                                                 are (tests: the debug build, no pin)
set -euo pipefail
cd "$(dirname "$0")/.."
from=""
out="dist"
while (($#)); do
  case "$1" in
    --from) from="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: scripts/build-console.sh [--from DIR] [--out DIR]" >&2; exit 64 ;;
  esac
done
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "$from" ]; then
  bash scripts/build-bot.sh >/dev/null
  cp dist/assay-bot "$work/assay-bot"
  digest=$(sha256sum "$work/assay-bot" | cut -d' ' -f1)
  pinned=Sources/Console/PinnedBot.swift
  cp "$pinned" "$work/PinnedBot.swift.orig"
  # The pin lives in the source only for this build: the file is put back whatever happens.
  trap 'cp "$work/PinnedBot.swift.orig" "'"$pinned"'"; rm -rf "$work"' EXIT
  sed -i "s/public static let sha256: String? = nil/public static let sha256: String? = \"$digest\"/" "$pinned"
  grep -q "$digest" "$pinned" || { echo "could not pin the bot's digest in $pinned" >&2; exit 1; }
  swift build -c release --product assay --scratch-path .build-console -Xswiftc -static-stdlib >/dev/null
  cp "$work/PinnedBot.swift.orig" "$pinned"
  cp .build-console/release/assay "$work/assay"
  strip "$work/assay"
else
  cp "$from/assay" "$work/assay"
  cp "$from/assay-bot" "$work/assay-bot"
fi

cat > "$work/README.txt" <<'README'
Assay console for Linux x86_64
==============================

This folder holds the console (assay), the bot it copies to each device (assay-bot), your
tenant's bundle (assay-console-bundle.json: the service's address, the tenant's GUID and its
public key) and SHA256SUMS. Nothing in it names your organisation or a person.

1. Check the files:            sha256sum -c SHA256SUMS
2. Install the bundle:         ./assay init assay-console-bundle.json
   Compare the fingerprint it shows with the one on the portal's dashboard.
3. Sign in (write claim):      ./assay login --email you@example.com
4. List devices:               ./assay devices import devices.csv   (host,port,user,labels)
                               or ./assay devices discover --ldap-url ldaps://dc1.example.com ...
5. Scan:                       ./assay scan inventory
   Files are encrypted on each device to your tenant's key and uploaded over HTTPS.

`./assay --help` lists every command. The full guide is docs/console.md in the Assay repository.
README

python3 - "$work" "$out" <<'PY'
import gzip, hashlib, io, pathlib, sys, tarfile
work, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
buffer = io.BytesIO()
archive = tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT)
sums = []
for name, mode in (("assay", 0o755), ("assay-bot", 0o755), ("README.txt", 0o644)):
    data = (work / name).read_bytes()
    info = tarfile.TarInfo(f"assay-console/{name}")
    info.size, info.mode, info.uid, info.gid, info.uname, info.gname = len(data), mode, 0, 0, "root", "root"
    info.mtime = int((work / name).stat().st_mtime)
    archive.addfile(info, io.BytesIO(data))
    sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}")
# Taken before close(): the end-of-archive blocks come with the tenant's part, at download.
entries = buffer.getvalue()
(out / "assay-console-linux-x86_64.tar.gz").write_bytes(gzip.compress(entries, 9))
(out / "assay-console-linux-x86_64.sha256sums").write_text("\n".join(sums) + "\n")
PY
ls -l "$out/assay-console-linux-x86_64.tar.gz" | awk '{printf "%s %d bytes\n", $9, $5}'
