#!/usr/bin/env bash
# The unit tests (swift test) under a sanitizer, in a scratch path of their own (Docs/testing.md).
#
#   scripts/sanitizers.sh asan [swift test options, e.g. --filter HTTPServerTests]
#   scripts/sanitizers.sh tsan [...]
#
# asan: AddressSanitizer (out-of-bounds, use-after-free, double free; leaks are reported by LeakSanitizer).
# tsan: ThreadSanitizer (data races between the event loops, session threads and the catalog).
# Builds go to .build-asan / .build-tsan so the normal .build stays as it is. Opt-in: not part of scripts/test.sh
# (see Docs/testing.md for what they cost). SAN_NICE (default 19) sets the niceness of build and run.
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-}
shift || true
case "$kind" in
    asan) sanitizer=address ;;
    tsan) sanitizer=thread ;;
    *) echo "usage: scripts/sanitizers.sh asan|tsan [swift test options]" >&2; exit 64 ;;
esac
scratch=".build-$kind"
nice_level="${SAN_NICE:-19}"

# halt_on_error: the first report fails the run (a report is a bug, not a warning).
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_stack_use_after_return=1}"
# Leaks are checked too, minus the toolchain's own (scripts/lsan.supp says which and why).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

echo "== build ($kind) into $scratch"
time nice -n "$nice_level" swift build --build-tests --scratch-path "$scratch" --sanitize="$sanitizer"
echo "== swift test ($kind)"
time nice -n "$nice_level" swift test --skip-build --scratch-path "$scratch" --sanitize="$sanitizer" "$@"
