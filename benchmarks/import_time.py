"""What importing hanlin costs a script, next to what importing LangGraph costs.

Each statement runs in a fresh interpreter (``python -X importtime`` would add its own
overhead, so wall time of the whole ``python -c`` is measured instead, minus an empty
interpreter's start). The peer rows are what a LangGraph user pays before writing a line:
the graph builder, and the prebuilt ReAct agent. The heavy stacks (gradio, torch,
transformers, llama.cpp) must stay out of every hanlin row; the table says which got in.

    python benchmarks/import_time.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from common import percentiles, print_table, write_results

HEAVY = ["gradio", "torch", "transformers", "llama_cpp", "matplotlib", "numpy"]
STATEMENTS = {
    "empty interpreter": "pass",
    "import hanlin": "import hanlin",
    "from hanlin import Agent, Runner, tool, LocalModel": (
        "from hanlin import Agent, Runner, tool, LocalModel"
    ),
    "from hanlin import Debate, Supervisor, RolePlay": (
        "from hanlin import Debate, Supervisor, RolePlay"
    ),
    "peer: from langgraph.graph import StateGraph": "from langgraph.graph import StateGraph",
    "peer: from langgraph.prebuilt import create_react_agent": (
        "from langgraph.prebuilt import create_react_agent"
    ),
}
PROBE = "import sys, json; print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))"


def one_run(statement: str) -> tuple[float, list[str]]:
    code = f"{statement}\n{PROBE.format(heavy=HEAVY)}"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    return elapsed, json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    for statement in STATEMENTS.values():  # warm the file cache once
        one_run(statement)
    rows: dict[str, dict[str, object]] = {}
    for label, statement in STATEMENTS.items():
        samples, heavy = [], []
        for _ in range(args.repeats):
            elapsed, heavy = one_run(statement)
            samples.append(elapsed * 1000)
        rows[label] = {**percentiles(samples), "heavy_modules_loaded": heavy}
    base = float(rows["empty interpreter"]["p50"])  # type: ignore[arg-type]
    graph_peer = float(rows["peer: from langgraph.graph import StateGraph"]["p50"])  # type: ignore[arg-type]
    for row in rows.values():
        p50 = float(row["p50"])  # type: ignore[arg-type]
        row["import_ms_p50"] = round(p50 - base, 1)
        row["vs_langgraph_graph"] = round((p50 - base) / (graph_peer - base), 3)
    write_results("import_time", {"repeats": args.repeats, "unit": "ms", "rows": rows})
    print_table(
        ["statement", "import ms (p50)", "× langgraph.graph", "heavy modules loaded"],
        [
            [
                label,
                row["import_ms_p50"],
                row["vs_langgraph_graph"],
                ", ".join(row["heavy_modules_loaded"]) or "none",
            ]  # type: ignore[arg-type]
            for label, row in rows.items()
        ],
    )


if __name__ == "__main__":
    main()
