#!/usr/bin/env bash
# libFuzzer targets for the parsers that read untrusted bytes (Docs/testing.md).
#
#   scripts/fuzz.sh                      build every target and run each for 60 s
#   scripts/fuzz.sh range 600            build and run one target for 600 s
#   scripts/fuzz.sh all 600              every target, one after the other, 600 s each
#   scripts/fuzz.sh --build-only [target]
#
# The library modules are built by SwiftPM into their own scratch path (.build-fuzz) with
# -sanitize=fuzzer,address, so the normal `swift build`/`swift test` are untouched. Each target is one Swift file
# Tests/Fuzz/<target>/*.swift defining LLVMFuzzerTestOneInput, linked with swiftc against those objects.
# Seeds live in Tests/Fuzz/<target>/corpus (committed, small); new inputs found during a run go to
# .build-fuzz/corpus/<target> and crashes to .build-fuzz/crashes/<target>. A crash input worth keeping is copied
# into the committed corpus as a regression seed. Runs use one worker; FUZZ_NICE (default 19) sets the niceness.
# FUZZ_KEEP_GOING=1 keeps a target running for its whole time after a crash (libFuzzer's -fork=1 with
# -ignore_crashes), collecting every distinct crash instead of stopping at the first.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(http-request range token sftp-framer ftp-command qcow2-inspector iso-inspector)
SCRATCH=.build-fuzz
NICE="${FUZZ_NICE:-19}"

# The library module each target exercises, and the modules it needs at link time (dependency order).
modules_of() {
    case "$1" in
        http-request | range) echo "HTTPServer TLSSupport SystemIO GateCore" ;;
        token) echo "DownloadTokens CryptoPrimitives GateCore" ;;
        sftp-framer) echo "SFTPServer SystemIO GateCore" ;;
        ftp-command) echo "FTPServer TLSSupport SystemIO GateCore" ;;
        qcow2-inspector | iso-inspector) echo "ImageInspection GateCore" ;;
        *) echo "unknown fuzz target: $1 (one of: ${ALL_TARGETS[*]})" >&2; exit 2 ;;
    esac
}

# Inputs longer than this are not generated; the ISO target needs room for a few descriptor sectors.
max_len_of() {
    case "$1" in
        iso-inspector) echo 20000 ;;
        qcow2-inspector | sftp-framer) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

build() {
    local target=$1 modules top
    modules=$(modules_of "$target")
    top=${modules%% *}
    nice -n "$NICE" swift build --scratch-path "$SCRATCH" --target "$top" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing >/dev/null
    local bin="$SCRATCH/debug"
    local objects=()
    for m in $modules; do objects+=("$bin/$m.build"/*.o); done
    # CLinuxShims is C (not instrumented); SystemIO calls into it.
    [[ " $modules " == *" SystemIO "* ]] && objects+=("$bin/CLinuxShims.build"/*.o)
    mkdir -p "$SCRATCH/fuzzers"
    nice -n "$NICE" swiftc -sanitize=fuzzer,address -parse-as-library -g \
        -I "$bin/Modules" -I "$bin" \
        -Xcc -fmodule-map-file=Sources/COpenSSL/module.modulemap \
        -Xcc -fmodule-map-file=Sources/CLibSSH/module.modulemap \
        -Xcc -fmodule-map-file="$bin/CLinuxShims.build/module.modulemap" -Xcc -ISources/CLinuxShims/include \
        Tests/Fuzz/"$target"/*.swift "${objects[@]}" -lssl -lcrypto \
        -o "$SCRATCH/fuzzers/$target" 2>"$SCRATCH/fuzzers/$target.log" || { cat "$SCRATCH/fuzzers/$target.log"; exit 1; }
    # gold warns about every ASan helper symbol; only other lines are worth showing.
    grep -v "Cannot export local symbol" "$SCRATCH/fuzzers/$target.log" >&2 || true
    echo "built $SCRATCH/fuzzers/$target"
}

run() {
    local target=$1 seconds=$2
    local work="$SCRATCH/corpus/$target" crashes="$SCRATCH/crashes/$target"
    mkdir -p "$work" "$crashes"
    echo "== fuzz $target for ${seconds}s (seeds: Tests/Fuzz/$target/corpus, new inputs: $work)"
    local mode=()
    [[ "${FUZZ_KEEP_GOING:-0}" == 1 ]] && mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    # One process (or one forked worker) on the shared machine. Exit status is libFuzzer's: non-zero on a finding.
    nice -n "$NICE" "$SCRATCH/fuzzers/$target" "${mode[@]}" "$work" "Tests/Fuzz/$target/corpus" \
        -max_total_time="$seconds" -max_len="$(max_len_of "$target")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crashes/"
}

if [[ "${1:-}" == "--build-only" ]]; then
    shift
    targets=("${1:-all}")
    [[ "${targets[0]}" == all ]] && targets=("${ALL_TARGETS[@]}")
    for t in "${targets[@]}"; do build "$t"; done
    exit 0
fi

target=${1:-all}
seconds=${2:-60}
targets=("$target")
[[ "$target" == all ]] && targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do modules_of "$t" >/dev/null; done
for t in "${targets[@]}"; do build "$t"; done
status=0
for t in "${targets[@]}"; do run "$t" "$seconds" || status=$?; done
if [[ "${FUZZ_KEEP_GOING:-0}" == 1 ]] && compgen -G "$SCRATCH/crashes/*/*" >/dev/null; then
    echo "crash inputs:"; ls "$SCRATCH"/crashes/*/*; status=1
fi
exit $status
