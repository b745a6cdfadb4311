#!/usr/bin/env bash
# Builds the bundled demo portals into public/ (after setting up .venv, see scripts/setup.sh),
# then lists a demo customer's passwords. With --serve, then runs `portico serve` on
# http://127.0.0.1:8000/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f .portico/keystore.json ]; then
  .venv/bin/portico build --no-strict
else
  .venv/bin/portico build --no-strict --new-keystore
fi
.venv/bin/portico passwords list --customer C1002
echo "All demo passwords: .venv/bin/portico passwords list"
if [ "${1:-}" = "--serve" ]; then
  .venv/bin/portico serve
fi
