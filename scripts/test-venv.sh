#!/usr/bin/env bash
# Makes (or reuses) the test suite's Python virtual environment under .build/venv and prints its interpreter.
# It is built on Debian's /usr/bin/python3 with --system-site-packages, so Debian packages such as
# python3-pyftpdlib stay importable, while pip installs go into the venv and never into the system
# (Debian 12's Python refuses system-wide pip installs, PEP 668). Packages are reinstalled only when
# Tests/integration/requirements.txt changes.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/venv
req=Tests/integration/requirements.txt
base_python=/usr/bin/python3
[ -x "$base_python" ] || base_python=$(command -v python3)
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p .build
    "$base_python" -m venv --system-site-packages "$venv" >&2
fi
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing Python test packages into $venv" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
    echo "$want" >"$stamp"
fi
echo "$PWD/$venv/bin/python"
