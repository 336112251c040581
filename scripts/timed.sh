#!/usr/bin/env bash
# Usage: scripts/timed.sh LABEL COMMAND...: runs COMMAND, then prints how long it took (its exit status is kept).
set -uo pipefail
label=$1
shift
start=$(date +%s)
"$@"
status=$?
echo "==> ${label}: $(($(date +%s) - start)) s (exit ${status})"
exit "$status"
