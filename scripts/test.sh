#!/usr/bin/env bash
# The whole test suite: unit tests (swift test) and integration tests that start the real server on
# loopback ports chosen at run time and drive real clients (curl, wget, aria2c, lftp).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install -q pytest
# The management API tests read the .xlsx export (openpyxl) and Docs/openapi.yaml (PyYAML).
python3 -c "import openpyxl, yaml, tusclient" >/dev/null 2>&1 || python3 -m pip install -q openpyxl pyyaml tuspy
# The web console tests drive Debian's chromium through Selenium (no browser download: the system driver).
python3 -c "import selenium" >/dev/null 2>&1 || python3 -m pip install -q selenium
# The console's files are compiled into the binary: the generated Swift file must match Console/.
python3 scripts/embed-console.py --check

echo "== build"
swift build --build-tests
echo "== unit tests (swift test)"
swift test --skip-build 2>&1 | tee .build/unit-tests.log
echo "== integration tests (real server, real clients)"
echo "console screenshots go to $PWD/Tests/integration/artifacts/console/"
# Last, so the runner's own summary line ("N passed ...") closes the output.
IMAGEGATE_BIN="$PWD/.build/debug/imagegate" python3 -m pytest -q Tests/integration
