#!/usr/bin/env bash
# Create .venv and install codearena into it (with the test tools when given "dev").
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "codearena needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
extras="${1:-}"
if [ "$extras" = "dev" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -e ".[dev]"
else
  .venv/bin/pip install --quiet --disable-pip-version-check -e .
fi
