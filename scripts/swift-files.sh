#!/usr/bin/env bash
# The Swift files the formatter owns: every tracked .swift file except the generated console assets
# (scripts/embed-console.py writes ConsoleAssets.swift; its layout is the generator's, not a person's).
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -z -- '*.swift' ':!:**/ConsoleAssets.swift' ':!:Package.swift'
