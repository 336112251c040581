#!/usr/bin/env bash
# `make bench`: install what the server benchmark needs, then run it (options go to bench/server.py).
#   - wrk, the load generator, from Debian's packages (scripts/apt.sh installs it if missing);
#   - the other candidate servers, the `bench` extra of pyproject.toml (gunicorn, uvicorn, uvicorn-worker),
#     into .venv; production needs none of them.
set -euo pipefail
trap 'echo "$0: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

bash scripts/apt.sh wrk
if ! "$VENV/bin/python" -c 'import gunicorn, uvicorn, uvicorn_worker, uvloop' 2>/dev/null; then
  echo "==> pip install -e '.[dev,bench]' (the candidate servers)"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install -q -e '.[dev,bench]'
fi
exec "$VENV/bin/python" bench/server.py "$@"
