#!/usr/bin/env bash
# Create .venv with Python 3.10 and install the pinned dependencies. Re-runs are quick: the
# install is skipped while requirements.txt and constraints.txt are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
stamp=.venv/.installed
want=$(cat requirements.txt constraints.txt | sha256sum | cut -c1-16)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
  py=$(scripts/find-python.sh)
  echo "setup: creating .venv with $py"
  rm -rf .venv
  "$py" -m venv .venv
fi
echo "setup: installing pinned dependencies (a few minutes the first time; log in var/pip.log)"
{
  .venv/bin/python -m pip install --upgrade pip
  .venv/bin/python -m pip install -r requirements.txt -c constraints.txt
} > var/pip.log 2>&1 || { echo "setup: pip install failed; last lines of var/pip.log:"; tail -20 var/pip.log; exit 1; }
echo "$want" > "$stamp"
echo "setup: done"
