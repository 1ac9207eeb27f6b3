"""One attempt at one run, on the worker holding its lease.

The first attempt records the thread's latest checkpoint before starting. A later attempt
(the previous worker died or lost its lease) compares: if the thread moved past that
checkpoint, the run had started and continues from the last checkpoint (``None`` input,
as ``Runner.resume_stream`` does), where the tool journal replays every call that finished;
otherwise the run starts over from its input.
"""

from __future__ import annotations

from dataclasses import dataclass

from hanlin.runtime import ErrorEvent, Runner, has_work_left
from hanlin.service.driver import StartPlan, drive
from hanlin.service.inputs import RunInputError, approval_decision, user_message
from hanlin.service.lease import Lease
from hanlin.service.records import RunKwargs, RunRecord
from hanlin.service.wire import PartTranslator, dumps

# Error categories that fail a run (the same ones ``Runner.run`` reports as its error).
FAILING_CATEGORIES = frozenset({"run_failed", "step_limit", "approval_required", "perception"})
NO_CHECKPOINT = "-"


@dataclass(frozen=True)
class RunOutcome:
    status: str
    thread_status: str
    error_kind: str = ""
    error: str = ""


async def plan_attempt(runner: Runner, run: RunRecord, lease: Lease) -> StartPlan:
    snapshot = await runner.graph.aget_state(runner.config(run.thread_id, run.owner))
    latest = str(snapshot.config.get("configurable", {}).get("checkpoint_id") or NO_CHECKPOINT)
    if run.start_checkpoint is None:
        await lease.set_field("start_checkpoint", latest)
    elif latest != run.start_checkpoint:  # an earlier attempt got the run going
        return StartPlan("continue") if has_work_left(snapshot) else StartPlan("done")
    return first_plan(run.request, waiting=bool(snapshot.interrupts))


def first_plan(kwargs: RunKwargs, *, waiting: bool) -> StartPlan:
    if kwargs.command is not None:
        if not waiting:
            raise RunInputError("the thread waits for no approval: nothing to resume")
        return StartPlan("decision", decision=approval_decision(kwargs.command))
    if kwargs.input is not None:
        return StartPlan("input", message=user_message(kwargs.input))
    if waiting:
        raise RunInputError(
            'the thread waits for an approval decision: send command={"resume": {...}}'
        )
    return StartPlan("continue")


async def execute_run(runner: Runner, run: RunRecord, lease: Lease) -> RunOutcome:
    """Stream the run's events into its event stream; how it ended."""
    translator = PartTranslator(run.run_id, run.request.stream_mode)
    await lease.publish([("metadata", dumps({"run_id": run.run_id, "attempt": lease.attempt}))])
    try:
        plan = await plan_attempt(runner, run, lease)
    except RunInputError as exc:
        return RunOutcome("error", "", "InvalidRun", str(exc))
    failure: ErrorEvent | None = None
    if plan.kind == "done":
        state = await runner.state(run.thread_id)
        await lease.publish(translator.translate("values", state))
    else:
        async for mode, item in drive(runner, plan, run.thread_id, run.owner):
            if isinstance(item, ErrorEvent) and item.category in FAILING_CATEGORIES:
                failure = item
            await lease.publish(translator.translate(mode, item))
    waiting = bool(await runner.pending(run.thread_id))
    if failure is not None:
        return RunOutcome("error", "error", failure.category, failure.message)
    return RunOutcome("success", "interrupted" if waiting else "idle")


async def thread_status_after_cancel(runner: Runner, thread_id: str) -> str:
    return "interrupted" if await runner.pending(thread_id) else "idle"
