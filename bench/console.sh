#!/usr/bin/env bash
# Console benchmark: an inventory scan of 32 SSH hosts (real sshd in network namespaces on this
# machine), side by side with the one-at-a-time way (the console with --concurrency 1, as GLPI's
# agent runs remote inventories, and a plain scp/ssh loop an administrator would write).
#   bench/console.sh [hosts] [runs]      (default 32 hosts, 3 runs; release builds; needs root)
# Prints wall time per scan, per-host overhead, the console's peak RSS, and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
hosts="${1:-32}"
runs="${2:-3}"
bash scripts/install-deps.sh >/dev/null
swift build -c release --product assay >/dev/null
swift build -c release --product assay-server >/dev/null
bash scripts/build-bot.sh >/dev/null   # the bot as the console ships it: static, stripped (dist/assay-bot)
python3 bench/console.py "$hosts" "$runs" "$PWD/.build/release" "$PWD/dist/assay-bot"
