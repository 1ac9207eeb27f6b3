#!/usr/bin/env bash
# Sets up everything the tests need (same setup as the app, plus test tools), runs the fast
# lane (lint, format, layers, types), then the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium: the browser the UI tests drive through Playwright (never a downloaded browser).
HANLIN_APT_EXTRA=chromium HANLIN_EXTRAS=${HANLIN_EXTRAS:-local,serve,memory,perception,ui,train,test,lint} \
  bash scripts/setup.sh
bash scripts/check.sh
exec "${HANLIN_VENV:-.venv}/bin/python" -m pytest "$@"
