"""The tables ``service.py`` prints, and the payload it writes."""

from __future__ import annotations

import argparse
from typing import Any

from common import print_table

MARKS = {"first": "first hanlin event", "final": "final answer", "whole": "whole run (end)"}


def report(results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    rate = {row["workers"]: row["runs_per_s"] for row in results["throughput"]}
    scaling = rate[4] / (4 * rate[1])
    latency, sse, takeover = results["latency"], results["sse"], results["takeover"]
    ms, added = latency["ms"], latency["added_ms"]
    print()
    print_table(
        ["workers", "runs", "s", "runs/s", "x 1 worker", "failed", "CPU ms/run", "cores busy"],
        [
            [
                r["workers"],
                r["runs"],
                r["seconds"],
                r["runs_per_s"],
                r["runs_per_s"] / rate[1],
                r["failed"],
                r["cpu_s_per_run"] * 1000,
                r["cores_busy"],
            ]
            for r in results["throughput"]
        ],
    )
    print(f"scaling 1 -> 4 workers: {scaling:.2f} of linear (goal >= 0.8)\n")
    rows = []
    for mark, label in MARKS.items():
        s, p = ms["service"][mark], ms["peer"][mark]
        rows.append(
            [
                label,
                p["p50"],
                s["p50"],
                added[mark]["p50"],
                p["p95"],
                s["p95"],
                added[mark]["p95"],
                s["p50"] / p["p50"],
            ]
        )
    pickup = ms["service"]["pickup"]
    rows.append(
        ["enqueue -> worker's metadata", "-", pickup["p50"], "-", "-", pickup["p95"], "-", "-"]
    )
    print_table(
        [
            "ms",
            "peer p50",
            "service p50",
            "added p50",
            "peer p95",
            "service p95",
            "added p95",
            "service/peer p50",
        ],
        rows,
    )
    print(f"(added p50 of the whole run: {added['whole']['p50']:.1f} ms, goal <= 20 ms)")
    cpu = latency["cpu_ms_per_run_by_process"]
    for side in ("service", "peer"):
        parts = ", ".join(f"{role} {used:.1f}" for role, used in cpu[side].items())
        print(f"CPU ms per run, {side}: {sum(cpu[side].values()):.1f} ({parts})")
    print(f"service/peer CPU: {sum(cpu['service'].values()) / sum(cpu['peer'].values()):.2f}\n")
    faults = (
        "exceptions",
        "without_end",
        "error_events",
        "dropped",
        "duplicated",
        "unknown",
        "out_of_order",
        "without_id",
    )
    print_table(
        ["API Redis pool", "SSE clients", "s", "events", *faults, "first p50 ms", "whole p95 ms"],
        [
            [
                row["api_redis_pool"],
                row["clients"],
                row["seconds"],
                row["events_received"],
                *(row[f] for f in faults),
                row["first_event_ms"]["p50"],
                row["whole_run_ms"]["p95"],
            ]
            for row in sse
        ],
    )
    for row in sse:
        for sample in row["exception_samples"]:
            print(f"  {row['api_redis_pool']}: {sample}")
    print()
    t = takeover["takeover_s"]
    print_table(
        [
            "lease s",
            "trials",
            "take-over p50 s",
            "take-over max s",
            "kill -> end p50 s",
            "goal s",
            "status success",
            "answered, by kill offset s",
        ],
        [
            [
                takeover["lease_s"],
                len(takeover["trials"]),
                t["p50"],
                t["max"],
                takeover["kill_to_end_s"]["p50"],
                takeover["goal_s"],
                takeover["succeeded"],
                ", ".join(f"{k}: {v}" for k, v in takeover["answered_by_kill_offset"].items()),
            ]
        ],
    )
    return {
        "model_delay_s": args.delay,
        "workload": "ReAct Agent, 3 model calls + 1 tool call per run, loopback model server",
        **results,
        "scaling_1_to_4": scaling,
        "goals": {
            "scaling_1_to_4": ">= 0.8",
            "added_latency_p50_ms": "<= 20",
            "sse_clients": "no errors, no dropped or duplicated events",
            "takeover_s": "<= lease + 2",
        },
    }
