#!/usr/bin/env bash
# Formats every Swift source in place with the toolchain's swift-format and the repository's .swift-format
# (Docs/style.md, "Formatting"). Run it before committing; scripts/lint.sh (first step of scripts/test.sh and so
# of CI) fails on anything it would change.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/swift-files.sh | xargs -0 swift format format --in-place --parallel --configuration .swift-format
