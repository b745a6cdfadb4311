#!/usr/bin/env bash
# Builds the bundled demo portals into public/ (after installing what they need), then lists
# a demo customer's passwords. With --serve, then runs `portico serve` on http://127.0.0.1:8000/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f .portico/keystore.json ]; then
  python3 build.py --no-strict
else
  python3 build.py --no-strict --new-keystore
fi
python3 -m generator passwords list --customer C1002
echo "All demo passwords: portico passwords list"
if [ "${1:-}" = "--serve" ]; then
  python3 -m generator serve
fi
