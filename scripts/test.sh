#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs the package, its test dependencies and
# Debian's Chromium, then runs pytest (browser tests included). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser
python3 -m pytest -q "$@"
