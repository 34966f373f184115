#!/usr/bin/env bash
# Builds the bot as the console ships it: one static, stripped executable, and its xz form.
#   scripts/build-bot.sh            -> dist/assay-bot, dist/assay-bot.xz (sizes printed)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist
swift build -c release --product assay-bot --scratch-path .build-static -Xswiftc -static-executable >/dev/null
cp .build-static/release/assay-bot dist/assay-bot
strip dist/assay-bot
xz -9e -T1 -c dist/assay-bot > dist/assay-bot.xz
if file dist/assay-bot | grep -q "dynamically linked"; then
  echo "dist/assay-bot is not static" >&2; exit 1
fi
printf 'assay-bot     %8d bytes (%.1f MiB), static, stripped\n' "$(stat -c %s dist/assay-bot)" "$(echo "$(stat -c %s dist/assay-bot)/1048576" | bc -l)"
printf 'assay-bot.xz  %8d bytes (%.1f MiB)\n' "$(stat -c %s dist/assay-bot.xz)" "$(echo "$(stat -c %s dist/assay-bot.xz)/1048576" | bc -l)"
