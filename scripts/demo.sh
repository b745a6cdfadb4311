#!/usr/bin/env bash
# Builds the bundled demo portals into public/ (after installing what they need).
# With --serve, then serves public/ on http://127.0.0.1:8000/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 build.py --no-strict
if [ "${1:-}" = "--serve" ]; then
  echo "Serving public/ on http://127.0.0.1:8000/ (Ctrl-C stops)"
  python3 -m http.server --bind 127.0.0.1 --directory public 8000
fi
