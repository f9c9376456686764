#!/usr/bin/env bash
# The benchmark: installs wrk if missing, then starts everything and prints one table.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x .venv/bin/payments ] || { python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'; }
# Row 12 holds thousands of WebSockets: a descriptor each here and in an API worker.
[ "$(ulimit -n)" -ge 8192 ] 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec .venv/bin/python -m bench "$@"
