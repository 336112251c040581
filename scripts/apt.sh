#!/usr/bin/env bash
# Usage: scripts/apt.sh PACKAGE...: installs those of Debian's packages that are missing, and nothing else.
#
# apt-get update runs once, and only when something is to be installed. As root it runs apt-get directly;
# otherwise through sudo when there is one; otherwise it names the packages and fails.
set -euo pipefail
trap 'echo "$0: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

missing=()
for package in "$@"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$package")
done
((${#missing[@]})) || exit 0

if ((EUID == 0)); then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
else
  echo "scripts/apt.sh: missing Debian packages: ${missing[*]}; install them as root (no sudo here)" >&2
  exit 1
fi

echo "==> installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
