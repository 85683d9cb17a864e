#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (Rasa 3.6 does not support 3.11+), or explain
# how to get one and exit 1. Order: python3.10 on PATH, pyenv's 3.10, any pyenv 3.10.x.
set -u
works() { "$@" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }
if works python3.10; then command -v python3.10; exit 0; fi
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for candidate in "$root"/versions/3.10.*/bin/python3.10; do
    if [ -x "$candidate" ] && works "$candidate"; then echo "$candidate"; exit 0; fi
  done
fi
cat >&2 <<'MSG'
ERROR: Python 3.10 was not found (Rasa 3.6 needs exactly 3.10).
Fix one of these ways, then run the command again:
  - with pyenv:  pyenv install 3.10.13     (the setup finds it under $(pyenv root)/versions)
  - on Debian:   apt-get install python3.10 python3.10-venv
  - or put a python3.10 on your PATH.
MSG
exit 1
