#!/usr/bin/env bash
# The benchmark: installs wrk if missing, then starts everything and prints one table.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x .venv/bin/payments ] || { python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'; }
exec .venv/bin/python -m bench "$@"
