#!/usr/bin/env bash
# Prints the extra `swift build` flags that embed the git commit into the binary (`imagegate --version`
# prints "imagegate <version> (<commit>)"). Outside a git checkout it prints nothing, and the binary says
# "(unknown commit)". Usage: swift build -c release $(scripts/build-flags.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
commit=$(git rev-parse --short=12 HEAD 2>/dev/null) || exit 0
# Uncommitted changes to tracked files make the commit only an approximation: say so.
if ! git diff --quiet HEAD -- 2>/dev/null; then commit="$commit-dirty"; fi
echo "-Xcc -DIMAGEGATE_COMMIT=\"$commit\""
