#!/usr/bin/env bash
# Fails when a Swift file is not formatted as .swift-format says (the toolchain's `swift format`).
# To fix: swift format format -i -r Sources Tests bench/Sources Fuzz Package.swift
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --strict -r Sources Tests bench/Sources Fuzz Package.swift
echo "swift format: no violations"
