"""Measures the in-process backends on the embedded model: llama.cpp against transformers.

For each backend and thread count, a fresh interpreter loads the model and measures
load time, prompt processing (a ~300-token prompt), greedy generation of 128 tokens
(end-of-sequence ignored, so every run decodes the same number of tokens) and peak RSS.
Timings are the fastest of three runs; the 1-minute load average is recorded beside them.

    python benchmarks/local_model.py                        # both backends, 1 and 2 threads
    python benchmarks/local_model.py --tf-python /path/to/venv-with-torch/bin/python
    python benchmarks/local_model.py --backend llama_cpp --threads 1   # one measurement

torch is large, so transformers may live in a separate virtual environment: the driver runs
its measurements with ``--tf-python``. Results go to ``benchmarks/results/local_model.json``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PROMPT_TOKENS = 300
GENERATED_TOKENS = 128
REPEATS = 3  # the fastest run counts: other processes may share these cores
RESULTS = Path(__file__).parent / "results" / "local_model.json"
PROMPT_TEXT = (
    "You are reviewing a design document for a distributed agent platform. The platform runs "
    "language-model agents as graphs, keeps their state in Redis so any worker can resume a "
    "run, executes generated code in a sandbox with strict resource limits, and calls REST "
    "tools described by OpenAPI documents. Summarize the main risks of this design, the "
    "mitigations you would propose, and the measurements you would take before launch. "
)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def prompt_ids(tokenize: Any) -> list[int]:
    """Exactly PROMPT_TOKENS tokens of natural text, from the backend's own tokenizer."""
    ids: list[int] = []
    text = PROMPT_TEXT
    while len(ids) < PROMPT_TOKENS:
        ids = tokenize(text)
        text += PROMPT_TEXT
    return ids[:PROMPT_TOKENS]


def measure_llama_cpp(model: Path, threads: int) -> dict[str, Any]:
    started = time.perf_counter()
    import llama_cpp

    from hanlin.llm.local_model import load_llama

    llama = load_llama(model, 1024, threads).llama
    load_s = time.perf_counter() - started
    ids = prompt_ids(lambda text: llama.tokenize(text.encode(), add_bos=False))

    def prefill() -> float:
        llama.reset()
        begin = time.perf_counter()
        llama.eval(ids)
        return time.perf_counter() - begin

    def generate() -> float:
        prefill()
        begin = time.perf_counter()
        for _ in range(GENERATED_TOKENS):
            llama.eval([llama.sample(temp=0.0)])
        return time.perf_counter() - begin

    prefill()  # warm-up: first use allocates compute buffers
    prefill_s = min(prefill() for _ in range(REPEATS))
    generate_s = min(generate() for _ in range(REPEATS))
    return _row("llama_cpp", llama_cpp.__version__, threads, load_s, prefill_s, generate_s)


def measure_transformers(model: Path, threads: int) -> dict[str, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(threads)
    where = {"gguf_file": model.name, "local_files_only": True}
    tokenizer = AutoTokenizer.from_pretrained(str(model.parent), **where)
    network = AutoModelForCausalLM.from_pretrained(
        str(model.parent), dtype=torch.float32, **where
    ).eval()
    load_s = time.perf_counter() - started
    ids = torch.tensor([prompt_ids(lambda text: tokenizer(text)["input_ids"])])

    def prefill() -> tuple[float, Any]:
        begin = time.perf_counter()
        with torch.inference_mode():
            out = network(input_ids=ids, use_cache=True)
        return time.perf_counter() - begin, out

    # transformers 5 renamed the KV cache argument from ``past_key_values`` to ``cache``.
    cache_name = (
        "cache" if "cache" in inspect.signature(network.forward).parameters else ("past_key_values")
    )

    def generate() -> float:
        _, out = prefill()
        begin = time.perf_counter()
        with torch.inference_mode():
            for _ in range(GENERATED_TOKENS):
                token = out.logits[:, -1:].argmax(dim=-1)
                out = network(input_ids=token, use_cache=True, **{cache_name: out[cache_name]})
        return time.perf_counter() - begin

    prefill()
    prefill_s = min(prefill()[0] for _ in range(REPEATS))
    generate_s = min(generate() for _ in range(REPEATS))
    version = f"{transformers.__version__} (torch {torch.__version__})"
    return _row("transformers", version, threads, load_s, prefill_s, generate_s)


def _row(
    backend: str, version: str, threads: int, load_s: float, prefill_s: float, generate_s: float
) -> dict[str, Any]:
    return {
        "backend": backend,
        "version": version,
        "n_threads": threads,
        "load_s": round(load_s, 3),
        "prompt_tokens_per_s": round(PROMPT_TOKENS / prefill_s, 1),
        "generation_tokens_per_s": round(GENERATED_TOKENS / generate_s, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def run_one(python: str, backend: str, threads: int, model: Path) -> dict[str, Any]:
    """One measurement in a fresh interpreter, so load time and peak RSS are its own."""
    command = [python, __file__, "--backend", backend, "--threads", str(threads)]
    done = subprocess.run(
        [*command, "--model", str(model)], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{backend} with {threads} thread(s) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'backend':<13}{'threads':>8}{'load s':>9}{'prompt tok/s':>14}"
    print(header + f"{'gen tok/s':>11}{'peak RSS MiB':>14}")
    for row in rows:
        print(
            f"{row['backend']:<13}{row['n_threads']:>8}{row['load_s']:>9.2f}"
            f"{row['prompt_tokens_per_s']:>14.1f}{row['generation_tokens_per_s']:>11.1f}"
            f"{row['peak_rss_mib']:>14.1f}"
        )


def drive(args: argparse.Namespace, model: Path) -> None:
    pythons = {"llama_cpp": sys.executable, "transformers": args.tf_python}
    rows = [
        run_one(pythons[backend], backend, threads, model)
        for backend in args.backends
        for threads in args.thread_counts
    ]
    report = {
        "model": model.name,
        "model_bytes": model.stat().st_size,
        "prompt_tokens": PROMPT_TOKENS,
        "generated_tokens": GENERATED_TOKENS,
        "machine": {
            "cpu": _cpu_name(),
            "cores_available": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print_table(rows)
    print(f"written to {RESULTS}")


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["llama_cpp", "transformers"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", type=Path, help="a .gguf file (default: the embedded model)")
    parser.add_argument(
        "--tf-python",
        default=sys.executable,
        help="interpreter that has torch, transformers and gguf",
    )
    parser.add_argument("--backends", nargs="+", default=["llama_cpp", "transformers"])
    parser.add_argument("--thread-counts", nargs="+", type=int, default=[1, 2])
    args = parser.parse_args()
    if args.model is None:
        from hanlin.llm.model_files import default_gguf_path

        args.model = default_gguf_path()
    if args.backend is None:
        drive(args, args.model)
        return
    measure = measure_llama_cpp if args.backend == "llama_cpp" else measure_transformers
    print(json.dumps(measure(args.model, args.threads)))


if __name__ == "__main__":
    main()
