#!/usr/bin/env bash
# Installs everything Portico and its tests need on a fresh Debian machine, into the project's own
# virtual environment `.venv` (Debian's python3 refuses system-wide pip installs, PEP 668):
# python3-venv from apt when missing, the package with its test dependencies at the versions in
# scripts/constraints.txt, and with --with-browser Debian's Chromium (and libatomic1, which
# Playwright's Node.js driver needs) for the browser tests.
# Safe to run again. Afterwards: .venv/bin/portico, or `source .venv/bin/activate` and portico.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Portico needs Python 3.11 or newer; python3 is $(python3 --version 2>&1)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    echo "installing python3-venv (Debian's package for virtual environments)"
    apt_install python3-venv
  fi
  python3 -m venv .venv
fi

.venv/bin/python -m pip install --quiet --disable-pip-version-check -c scripts/constraints.txt -e ".[test]"

if [ "${1:-}" = "--with-browser" ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)  # the browser the tests drive
  dpkg -s libatomic1 >/dev/null 2>&1 || missing+=(libatomic1)  # Playwright's own Node.js driver needs it
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian for the browser tests"
    apt_install "${missing[@]}"
  fi
fi
