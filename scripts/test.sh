#!/usr/bin/env bash
# The test suite: unit tests (swift test) and integration tests that start the real server on loopback ports
# chosen at run time and drive real clients (curl, wget, aria2c, lftp, sftp, Chromium).
#   scripts/test.sh           everything: what CI runs (.ci/run)
#   scripts/test.sh --quick   unit tests plus the integration tests not marked slow: a few minutes, for use
#                             before every commit (Docs/testing.md)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
case "${1:-}" in
    "") ;;
    --quick) quick=1 ;;
    *) echo "usage: $0 [--quick]" >&2; exit 64 ;;
esac
# Formatting and lint first: seconds, and a commit that skipped scripts/format.sh fails before the build.
echo "== lint (swift format, .swift-format)"
scripts/lint.sh
scripts/install-deps.sh --test
# Python test packages live in a virtual environment (.build/venv), never in the system interpreter.
python=$(scripts/test-venv.sh)
# The console's files are compiled into the binary: the generated Swift file must match Console/.
"$python" scripts/embed-console.py --check

echo "== build"
swift build --build-tests
# The PostgreSQL client tests need a real server: a private cluster in a temp dir (never the system service),
# stopped and removed when this script exits however it exits. The multi-node integration test
# (Tests/integration/test_multinode.py: three nodes and HAProxy, both from install-deps.sh --test) takes a fresh
# database on the same cluster for each cluster it builds.
pg_dir=$(mktemp -d /tmp/imagegate-pg.XXXXXX)
# The S3 client tests need a real object store: SeaweedFS in a temp dir (scripts/seaweedfs.sh), stopped likewise.
s3_dir=$(mktemp -d /tmp/imagegate-s3.XXXXXX)
trap 'scripts/pg-cluster.sh stop "$pg_dir" || true; rm -rf "$pg_dir"; scripts/seaweedfs.sh stop "$s3_dir" || true; rm -rf "$s3_dir"' EXIT
IMAGEGATE_TEST_PG_URL=$(scripts/pg-cluster.sh start "$pg_dir")
export IMAGEGATE_TEST_PG_URL
# Exports IMAGEGATE_TEST_S3_* (HTTP and HTTPS endpoints, CA file, region, buckets, the test key pair).
scripts/seaweedfs.sh start "$s3_dir" >/dev/null
source "$s3_dir/env"
echo "== unit tests (swift test; PostgreSQL at $(sed 's#://\([^:@]*\):[^@]*@#://\1:***@#' <<<"$IMAGEGATE_TEST_PG_URL"), S3 at $IMAGEGATE_TEST_S3_ENDPOINT)"
swift test --skip-build 2>&1 | tee .build/unit-tests.log
echo "== integration tests (real server, real clients)"
echo "console screenshots go to $PWD/Tests/integration/artifacts/console/"
selection=()
((quick)) && selection=(-m "not slow")
# Last, so the runner's own summary line ("N passed ...") closes the output.
IMAGEGATE_BIN="$PWD/.build/debug/imagegate" "$python" -m pytest -q --durations=15 "${selection[@]}" Tests/integration
