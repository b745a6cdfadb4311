#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: sets up .venv (scripts/setup.sh, Debian's Chromium
# included), checks lint, formatting and the stage contracts, then runs pytest (browser tests
# included). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
.venv/bin/lint-imports --no-cache --no-logo
.venv/bin/python -m pytest -q "$@"
