#!/usr/bin/env bash
# TL-Training on one GPU in one sitting: synthetic data, plain SFT, MAE+PKT, then the held-out
# synthetic evaluation and BFCL (simple, irrelevance) for the base model and both trained
# models, all on the GPU, in about 9 minutes on one H100.
#
# It is written for a GPU machine that has torch, transformers and accelerate but no network,
# no pydantic or LangGraph, and no copy of the model; everything else travels with the
# repository in .gpu_carry/ (ignored by git), in two parts, because one transfer is limited
# to 64 MiB and the model file alone is 98 MB:
#
#   bash scripts/gpu_tool_learning.sh prepare   # here: wheels for Python 3.12 + the GGUF cut in two
#   # on the GPU machine, two runs in a row while it stays up:
#   bash scripts/gpu_tool_learning.sh first     # carries .gpu_carry/first: wheels, GGUF part 1
#   bash scripts/gpu_tool_learning.sh second    # carries .gpu_carry/second: GGUF part 2; trains
#   bash scripts/gpu_tool_learning.sh dry-run   # the same steps on this CPU, tiny sizes
#
# `first` installs the wheels and keeps part 1 under $HANLIN_GPU_STATE (default
# /var/tmp/hanlin_gpu, outside the repository copy); `second` joins the parts, checks the
# SHA-256 and runs benchmarks/tool_learning.py under a time limit. Results, the run log and
# the SFT loss logs go to $OUT (default: $HANLIN_GPU_STATE/out).
set -euo pipefail
cd "$(dirname "$0")/.."

CARRY=.gpu_carry
STATE=${HANLIN_GPU_STATE:-/var/tmp/hanlin_gpu}
OUT_GIVEN=${OUT:-}
OUT=${OUT:-$STATE/out}
PY=${PYTHON:-python3}
GGUF_NAME=SmolLM2-135M-Instruct.Q4_1.gguf
SPLIT_AT=42000000   # bytes in part 1: with the wheels and the tree it stays under 64 MiB
CONFIG=${HANLIN_GPU_CONFIG:-training/configs/smollm2_gpu.toml}
BFCL_LIMIT=${HANLIN_GPU_BFCL_LIMIT:-100}
BUDGET_S=${HANLIN_GPU_BUDGET_S:-530}   # the training run's own limit; results are saved per stage
# Python packages hanlin's training, its transformers backend and BFCL scoring import that
# the GPU image lacks; pinned to the versions of the local environment.
WHEELS="pydantic pydantic_core annotated-types typing-inspection typing_extensions gguf bfcl_eval
langgraph langgraph-checkpoint langgraph-prebuilt langgraph-sdk langchain-core langchain-protocol
langsmith jsonpatch jsonpointer orjson ormsgpack tenacity uuid_utils zstandard requests-toolbelt
websockets httpx2 httpcore2 truststore opentelemetry-api sniffio distro brotli"

say() { printf '[gpu_tool_learning %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

prepare() {
  local py=${PREP_PYTHON:-.venv/bin/python} gguf specs=()
  gguf=$("$py" -c "from hanlin.llm.model_files import default_gguf_path; print(default_gguf_path())")
  rm -rf "$CARRY" && mkdir -p "$CARRY/first/wheels" "$CARRY/second"
  for name in $WHEELS; do
    specs+=("$name==$("$py" -c "import importlib.metadata as m; print(m.version('$name'))")")
  done
  "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$CARRY/first/wheels" "${specs[@]}"
  head -c "$SPLIT_AT" "$gguf" >"$CARRY/first/gguf.part1"
  tail -c +"$((SPLIT_AT + 1))" "$gguf" >"$CARRY/second/gguf.part2"
  sha256sum "$gguf" | cut -d' ' -f1 | tee "$CARRY/first/gguf.sha256" >"$CARRY/second/gguf.sha256"
  say "prepared: $(du -sh "$CARRY/first" | cut -f1) first, $(du -sh "$CARRY/second" | cut -f1) second"
}

first() {
  [ -d "$CARRY/first/wheels" ] || { say "no $CARRY/first: run prepare here and carry it"; exit 2; }
  mkdir -p "$STATE"
  cp "$CARRY/first/gguf.part1" "$CARRY/first/gguf.sha256" "$STATE/"
  local target=(--python-version 3.12 --platform manylinux2014_x86_64 --only-binary=:all:)
  [ -n "${DRY_RUN:-}" ] || target=()  # on the GPU machine: its own Python
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    "${target[@]}" --target "$STATE/site" "$CARRY"/first/wheels/*.whl
  say "installed $(ls "$CARRY"/first/wheels | wc -l) wheels into $STATE/site"
  [ -n "${DRY_RUN:-}" ] || environment
}

environment() {
  export PYTHONPATH="$STATE/site:$(package_root)"
  "$PY" - <<'EOF'
import torch, transformers, accelerate, pydantic, gguf, langgraph  # noqa: F401
import hanlin.training.data.pipeline, hanlin.training.sft  # noqa: F401
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
print("transformers", transformers.__version__, "accelerate", accelerate.__version__,
      "pydantic", pydantic.__version__, "gguf", gguf.__version__)
EOF
}

package_root() {  # the repository root is the package `hanlin`: import it through a link
  mkdir -p "$STATE/pkg" && ln -sfn "$PWD" "$STATE/pkg/hanlin" && echo "$STATE/pkg"
}

second() {
  [ -f "$STATE/gguf.part1" ] || { say "part 1 missing in $STATE: run 'first' on this machine"; exit 2; }
  mkdir -p "$STATE/model" "$OUT"
  cat "$STATE/gguf.part1" "$CARRY/second/gguf.part2" >"$STATE/model/$GGUF_NAME"
  local want have
  want=$(cat "$CARRY/second/gguf.sha256") have=$(sha256sum "$STATE/model/$GGUF_NAME" | cut -d' ' -f1)
  [ "$want" = "$have" ] || { say "model file damaged: sha256 $have, expected $want"; exit 3; }
  if [ -n "${DRY_RUN:-}" ]; then
    export PYTHONPATH="$(package_root)"
  else
    export PYTHONPATH="$STATE/site:$(package_root)"
  fi
  export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TQDM_MININTERVAL=5
  say "training with $CONFIG, BFCL limit $BFCL_LIMIT, time limit ${BUDGET_S}s"
  local status=0
  timeout "$BUDGET_S" "$PY" benchmarks/tool_learning.py --config "$CONFIG" \
    --base-model "$STATE/model/$GGUF_NAME" --stages base,sft,mae_pkt \
    --bfcl simple,irrelevance --bfcl-limit "$BFCL_LIMIT" --bfcl-batch "${HANLIN_GPU_BFCL_BATCH:-64}" \
    --output "${HANLIN_GPU_OUTPUT:-tool_learning_gpu}" >"$OUT/run.raw" 2>&1 || status=$?
  tr '\r' '\n' <"$OUT/run.raw" >"$OUT/run.log" && rm -f "$OUT/run.raw"
  grep -v -E '^\s*$|[0-9]+%\|' "$OUT/run.log" | tail -n 40 || true  # the log without progress bars
  [ "$status" = 124 ] && say "stopped at the time limit; the stages finished before it are saved"
  collect
  say "finished with status $status; results in $OUT"
  return "$status"
}

collect() {
  local name=${HANLIN_GPU_OUTPUT:-tool_learning_gpu} runs
  runs=$("$PY" -c "import tomllib,sys; print(tomllib.load(open(sys.argv[1],'rb'))['output_dir'])" "$CONFIG")
  cp "benchmarks/results/$name.json" "$OUT/" 2>/dev/null || say "no results file was written"
  for variant in plain mae_pkt; do
    cp "$runs/sft_$variant/sft_log.jsonl" "$OUT/sft_${variant}_log.jsonl" 2>/dev/null || true
  done
  [ -d "$runs/eval" ] && tar -czf "$OUT/eval_predictions.tar.gz" -C "$runs" eval || true
}

dry_run() {  # the same steps on this machine's CPU with the tiny config
  export HANLIN_GPU_STATE=${HANLIN_GPU_STATE:-/tmp/hanlin_gpu_dry} DRY_RUN=1
  STATE=$HANLIN_GPU_STATE OUT=${OUT_GIVEN:-$STATE/out} PY=${PYTHON:-.venv/bin/python}
  CONFIG=${HANLIN_GPU_CONFIG:-training/configs/tiny_gpu.toml} BFCL_LIMIT=${HANLIN_GPU_BFCL_LIMIT:-2}
  HANLIN_GPU_OUTPUT=${HANLIN_GPU_OUTPUT:-tool_learning_gpu_dry}
  HANLIN_GPU_BFCL_BATCH=${HANLIN_GPU_BFCL_BATCH:-4} BUDGET_S=${HANLIN_GPU_BUDGET_S:-1800}
  rm -rf "$STATE"
  [ -d "$CARRY/second" ] || prepare
  first
  second
}

case "${1:-}" in
  prepare) prepare ;;
  first) first ;;
  second) second ;;
  dry-run) dry_run ;;
  *) echo "usage: $0 prepare|first|second|dry-run" >&2; exit 64 ;;
esac
