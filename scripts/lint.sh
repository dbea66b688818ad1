#!/usr/bin/env bash
# Fails (exit 1) when a Swift source is not as scripts/format.sh would leave it, or breaks a lint rule of
# .swift-format, or when code outside SystemIO calls a raw syscall (scripts/check-syscalls.py); prints
# file:line:column and the rule for each finding. Fix with scripts/format.sh, or by hand
# for rules the formatter cannot apply (Docs/style.md, "Formatting").
set -euo pipefail
cd "$(dirname "$0")/.."
if ! scripts/swift-files.sh | xargs -0 swift format lint --strict --parallel --configuration .swift-format; then
    echo "lint: the files above are not formatted as .swift-format says; run scripts/format.sh" >&2
    exit 1
fi
# SystemIO is the only place raw file and socket syscalls live (Docs/architecture.md, "The syscall layer").
if ! scripts/check-syscalls.py; then
    exit 1
fi
echo "lint: clean"
