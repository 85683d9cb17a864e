#!/usr/bin/env bash
# Create .venv with Python 3.10 and install the pinned dependencies; install the front-end
# packages (GOV.UK Frontend, axe-core) with `npm ci`; with --test-tools, also Debian's chromium
# (browser tests) and nginx (scaled profile). Re-runs are quick: each step is skipped while its
# inputs are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var

# Debian packages, as root (a fresh package list only if the first try fails). Log: var/apt.log.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y --no-install-recommends "$@" || { apt-get update && apt-get install -y --no-install-recommends "$@"; }; } \
    > var/apt.log 2>&1 || { echo "setup: apt-get install $* failed; last lines of var/apt.log:"; tail -20 var/apt.log; exit 1; }
}

python_deps() {
  local stamp=.venv/.installed want
  want=$(cat requirements.txt constraints.txt requirements-nodeps.txt | sha256sum | cut -c1-16)
  if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
    local py
    py=$(scripts/find-python.sh)
    echo "setup: creating .venv with $py"
    rm -rf .venv
    "$py" -m venv .venv
  fi
  echo "setup: installing pinned dependencies (a few minutes the first time; log in var/pip.log)"
  {
    .venv/bin/python -m pip install --upgrade pip
    .venv/bin/python -m pip install -r requirements.txt -c constraints.txt
    .venv/bin/python -m pip install --no-deps --require-hashes -r requirements-nodeps.txt
  } > var/pip.log 2>&1 || { echo "setup: pip install failed; last lines of var/pip.log:"; tail -20 var/pip.log; exit 1; }
  echo "$want" > "$stamp"
}

# GOV.UK Frontend (served by the web server from node_modules) and axe-core (browser tests).
node_deps() {
  local stamp=node_modules/.installed want
  want=$(cat package.json package-lock.json | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: installing Node.js and npm (Debian packages; log in var/apt.log)"
      apt_install nodejs npm
    else
      echo "setup: npm is missing. Install Node.js 18 or newer with npm (on Debian: sudo apt-get install nodejs npm), then run make again."
      exit 1
    fi
  fi
  echo "setup: installing front-end packages with npm ci (log in var/npm.log)"
  npm ci --no-audit --no-fund > var/npm.log 2>&1 || { echo "setup: npm ci failed; last lines of var/npm.log:"; tail -20 var/npm.log; exit 1; }
  echo "$want" > "$stamp"
}

# The browser tests drive Debian's chromium through Playwright (never `playwright install`).
browser() {
  if [ -x /usr/bin/chromium ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium for the browser tests (a minute or two; log in var/apt.log)"
    apt_install chromium fonts-liberation
  else
    echo "setup: /usr/bin/chromium is missing, so the browser tests will fail. Install it with:"
    echo "       sudo apt-get install chromium fonts-liberation"
  fi
}

# nginx fronts the scaled profile (scripts/scaled.sh) and checks deploy/'s files in the tests.
nginx_pkg() {
  if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's nginx for the scaled-profile tests (log in var/apt.log)"
    apt_install nginx
  else
    echo "setup: nginx is missing, so the scaled-profile tests will fail. Install it with:"
    echo "       sudo apt-get install nginx"
  fi
}

# `make run` needs the Python and front-end packages; `make test` also needs the tools the
# tests drive (chromium, nginx): scripts/setup.sh --test-tools adds those.
python_deps
node_deps
if [ "${1:-}" = "--test-tools" ]; then
  browser
  nginx_pkg
fi
