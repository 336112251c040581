#!/usr/bin/env bash
# Idempotent setup, run by `make setup` (and so by `make run`, `make test`, `make bench`).
#
# Each step does its work only when needed, so a second run takes a few seconds:
#   1. Debian packages: gettext (msgfmt), chromium (Debian's, for Playwright: we never download a browser),
#      fonts-noto-core (Vietnamese glyphs in screenshots), postgresql (the second test run), node/npm if absent.
#   2. .venv, and `pip install -e '.[dev]'` when pyproject.toml changed (a hash stamp under .venv/).
#   3. `npm ci` when package-lock.json changed (a hash stamp under node_modules/).
#   4. compilemessages (the .mo files are built, never committed) and collectstatic.
set -euo pipefail
trap 'echo "$0: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

say() { printf '==> %s\n' "$*"; }
fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }

# 1. Debian packages.
packages=(gettext chromium fonts-noto-core postgresql)
command -v npm >/dev/null || packages+=(nodejs npm)
bash scripts/apt.sh "${packages[@]}"

# 2. The virtual environment and the project in it, editable, with the development tools.
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "HanoiSmart needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2; exit 1; }
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.hanoismart-pyproject.sha256"
wanted="$(fingerprint pyproject.toml)-$("$VENV/bin/python" -VV | sha256sum | cut -c1-12)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
  say "pip install -e '.[dev]' (pyproject.toml changed)"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install -q -e '.[dev]'
  echo "$wanted" >"$stamp"
fi

# 3. Front-end packages, exactly as package-lock.json pins them.
stamp=node_modules/.hanoismart-package-lock.sha256
wanted=$(fingerprint package.json package-lock.json)
if [[ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
  say "npm ci (package-lock.json changed)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$wanted" >"$stamp"
fi

# 4. Compiled message catalogs and static files, each only when a source is newer than what was built.
python=$(cd "$VENV/bin" && pwd)/python
stale_catalog=$(find src -name '*.po' | while read -r po; do if [[ "$po" -nt "${po%.po}.mo" ]]; then echo "$po"; fi; done)
if [[ -n "$stale_catalog" ]]; then
  say "compilemessages"
  (cd src && "$python" ../manage.py compilemessages -v 0)  # in src/: only the package's catalogs
fi
manifest=${HANOISMART_VAR_DIR:-var}/static/staticfiles.json
if [[ ! -f "$manifest" || "$VENV/.hanoismart-pyproject.sha256" -nt "$manifest" \
  || node_modules/.hanoismart-package-lock.sha256 -nt "$manifest" || src/hanoismart/settings.py -nt "$manifest" \
  || -n "$(find src -path '*/static/*' -type f -newer "$manifest" -print -quit)" ]]; then
  say "collectstatic"
  "$python" manage.py collectstatic --noinput -v 0
fi
say "setup done"
