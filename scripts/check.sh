#!/usr/bin/env bash
# The fast lane: lint, formatting, the import layers and types, in seconds to a minute.
# Runs before the test suite in scripts/test.sh; run it alone while working.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${HANLIN_VENV:-.venv}/bin" && pwd)
ROOT=$PWD
say() { printf '\033[1m[hanlin check]\033[0m %s\n' "$*"; }

say "ruff check"
"$BIN/ruff" check .
say "ruff format --check"
"$BIN/ruff" format --check .
say "import layers"
"$BIN/lint-imports"
say "mypy"
# The repository root is the package `hanlin`; mypy resolves modules by folder name, so it
# checks through a link named after the package.
view=$(mktemp -d)
trap 'rm -rf "$view"' EXIT
ln -s "$PWD" "$view/hanlin"
(cd "$view" && "$BIN/mypy" --config-file "$ROOT/pyproject.toml" \
  -p hanlin.llm -p hanlin.tools -p hanlin.sandbox -p hanlin.contract -p hanlin.runtime \
  -p hanlin.planner -p hanlin.agents -p hanlin.service -p hanlin.serving -p hanlin.redis_stack \
  -p hanlin.chat_teams)
say "all clean"
