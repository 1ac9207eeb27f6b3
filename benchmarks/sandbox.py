"""Sandbox latency: what isolation costs over a plain process and over in-process exec.

Cold: one `print(1)` per fresh sandbox (start, run, tear down, scratch dir included) against a
plain `subprocess` Python, in the same run: once with a normal start (`python -I -c`), once
with the lean start the sandbox itself uses (`-S` plus its own site setup), so the second
ratio is the cost of isolation alone. Warm: one cell in a live
session against `exec` in this process. Also records the machine's load, since other work on
a small machine moves these numbers.

Run: python benchmarks/sandbox.py [--cold N] [--warm N]
Writes benchmarks/results/sandbox.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from hanlin.sandbox import SandboxMode, SandboxSession, check_host, run_python
from hanlin.sandbox.interpreter import python_command

RESULTS = Path(__file__).parent / "results" / "sandbox.json"


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


async def _time(n: int, call: Callable[[], Awaitable[object]], warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def _plain_subprocess(argv: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert out == b"1\n"


async def _sandboxed(mode: SandboxMode) -> None:
    result = await run_python("print(1)", mode=mode)
    assert result.stdout == "1\n", result


def _in_process_exec() -> Callable[[], Awaitable[None]]:
    namespace: dict[str, object] = {}

    async def run() -> None:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile("x = 1\nprint(x)", "<cell>", "exec"), namespace)  # noqa: S102 - the baseline
        assert buffer.getvalue() == "1\n"

    return run


async def measure(cold_n: int, warm_n: int) -> dict[str, object]:
    report = check_host()
    modes = [SandboxMode.BWRAP] if report.bwrap_works else []
    if report.landlock_abi >= 1 and report.seccomp and report.landlock_python_reachable:
        modes.append(SandboxMode.LANDLOCK)
    load_before = os.getloadavg()
    rows: dict[str, dict[str, float]] = {}
    plain = [sys.executable, "-I", "-c", "print(1)"]
    rows["cold plain subprocess"] = _summary(await _time(cold_n, lambda: _plain_subprocess(plain)))
    # The same interpreter start the sandbox uses (-S plus its own lean site setup), so the
    # ratio against it is the cost of isolation alone.
    lean = python_command(SandboxMode.UNSAFE_SUBPROCESS, "print(1)")
    rows["cold plain subprocess (lean)"] = _summary(
        await _time(cold_n, lambda: _plain_subprocess(lean))
    )
    for mode in modes:
        rows[f"cold sandbox ({mode.value})"] = _summary(
            await _time(cold_n, lambda mode=mode: _sandboxed(mode))
        )
    rows["warm in-process exec"] = _summary(await _time(warm_n, _in_process_exec()))
    for mode in modes:
        async with SandboxSession(mode=mode) as session:

            async def cell(session: SandboxSession = session) -> None:
                result = await session.execute("x = 1\nprint(x)")
                assert result.stdout == "1\n", result

            rows[f"warm session ({mode.value})"] = _summary(await _time(warm_n, cell))
    ratios = {
        f"{name} / {base}": round(row["p50_ms"] / rows[base]["p50_ms"], 2)
        for name, row in rows.items()
        if "cold sandbox" in name
        for base in ("cold plain subprocess", "cold plain subprocess (lean)")
    }
    return {
        "host": {
            "python": platform.python_version(),
            "kernel": platform.release(),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "mode": report.mode.value if report.mode else None,
            "landlock_abi": report.landlock_abi,
        },
        "latency": rows,
        "cold_p50_ratio_vs_plain_subprocess": ratios,
        "goals_ms": {"cold_p50": 25, "warm_p50": 5},
    }


def print_table(results: dict[str, object]) -> None:
    rows = results["latency"]
    assert isinstance(rows, dict)
    print(f"{'case':34} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'mean ms':>9}")
    for name, row in rows.items():
        print(
            f"{name:34} {row['n']:>5} {row['p50_ms']:>9.3f} {row['p95_ms']:>9.3f} "
            f"{row['mean_ms']:>9.3f}"
        )
    for pair, ratio in results["cold_p50_ratio_vs_plain_subprocess"].items():  # type: ignore[attr-defined]
        print(f"p50 ratio {pair}: {ratio}")
    print("host:", results["host"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=100, help="cold runs per case")
    parser.add_argument("--warm", type=int, default=1000, help="warm cells per case")
    args = parser.parse_args()
    results = asyncio.run(measure(args.cold, args.warm))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
