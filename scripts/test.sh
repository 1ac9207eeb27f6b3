#!/usr/bin/env bash
# Sets up everything the tests need (same setup as the app, plus test tools) and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
HANLIN_EXTRAS=${HANLIN_EXTRAS:-local,serve,memory,perception,test} bash scripts/setup.sh
exec "${HANLIN_VENV:-.venv}/bin/python" -m pytest "$@"
