#!/usr/bin/env bash
# Set up (first run only) and start the platform on http://127.0.0.1:8000 with the SQLite default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/codearena serve "$@"
