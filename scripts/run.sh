#!/usr/bin/env bash
# One command from a fresh Debian 12 checkout to a running server:
# installs missing packages, builds a release binary, and runs `imagegate serve` with its embedded
# default (data in ./data, HTTP on 127.0.0.1:8080). Extra arguments go to `imagegate serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product imagegate
exec .build/release/imagegate serve "$@"
