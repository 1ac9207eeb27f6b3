"""A run killed with SIGKILL resumes in a new process from its Redis checkpoint, and an
approval survives a restart. Real Redis, real second processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

WORKER = Path(__file__).parent / "workers" / "resume_agent.py"


def start(url: str, thread: str, workdir: Path, mode: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, thread, str(workdir), mode, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def kill9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def journal_has(url: str, thread: str, call_id: str) -> bool:
    """Journal keys are ``<prefix>:{thread}:<graph step>:<call id>``."""
    pattern = f"hanlin:tooljournal:{{{thread}}}:*:{call_id}"
    return any(True for _ in redis.Redis.from_url(url).scan_iter(match=pattern))


def test_kill_during_tool_step_resumes_without_rerunning_finished_calls(
    redis_url: str, tmp_path: Path
) -> None:
    thread = f"crash-tools-{uuid.uuid4().hex[:8]}"
    (tmp_path / "block_tool").touch()
    first = start(redis_url, thread, tmp_path, "start")
    try:
        wait_for(lambda: journal_has(redis_url, thread, "m1"), "mark's result in the journal")
        wait_for(lambda: lines(tmp_path / "slow.log") == ["start two"], "slow to start")
    finally:
        kill9(first)
    (tmp_path / "block_tool").unlink()

    outcome = finish(start(redis_url, thread, tmp_path, "resume"))
    assert outcome["error"] is None
    assert outcome["final"] == "done: marked one; slow done two"
    assert lines(tmp_path / "marks.log") == ["one"], "a finished call must not run again"
    assert lines(tmp_path / "slow.log") == ["start two", "start two"], "the unfinished call reruns"
    assert outcome["replayed"] == ["m1"]


def test_kill_during_model_call_resumes_from_last_checkpoint(
    redis_url: str, tmp_path: Path
) -> None:
    thread = f"crash-model-{uuid.uuid4().hex[:8]}"
    (tmp_path / "block_model").touch()
    first = start(redis_url, thread, tmp_path, "start")
    try:
        wait_for(lambda: lines(tmp_path / "model.log") == ["answering"], "the answering model call")
    finally:
        kill9(first)
    (tmp_path / "block_model").unlink()

    outcome = finish(start(redis_url, thread, tmp_path, "resume"))
    assert outcome["final"] == "done: marked one; slow done two"
    assert lines(tmp_path / "marks.log") == ["one"]
    assert lines(tmp_path / "slow.log") == ["start two"], (
        "tools finished before the crash stay done"
    )


@pytest.mark.parametrize(
    ("decision", "sent", "final"),
    [
        ({"action": "approve"}, ["bob"], "done: sent to bob"),
        ({"action": "edit", "arguments": {"to": "carol"}}, ["carol"], "done: sent to carol"),
        ({"action": "reject", "reason": "no"}, [], "done: Error (rejected): no"),
    ],
)
def test_approval_survives_a_restart(
    redis_url: str, tmp_path: Path, decision: dict, sent: list[str], final: str
) -> None:
    thread = f"approval-{uuid.uuid4().hex[:8]}"
    paused = finish(start(redis_url, thread, tmp_path, "approve-start"))
    assert paused["final"] is None
    assert paused["pending"][0]["call"] == {"id": "a1", "name": "send", "arguments": {"to": "bob"}}
    assert lines(tmp_path / "sent.log") == []

    answered = start(redis_url, thread, tmp_path, "approve-resume", json.dumps(decision))
    out, err = answered.communicate(timeout=60)
    assert answered.returncode == 0, err
    pending_line, result_line = out.strip().splitlines()[-2:]
    assert json.loads(pending_line)["pending"][0]["request"]["call"]["name"] == "send"
    assert json.loads(result_line)["final"] == final
    assert lines(tmp_path / "sent.log") == sent
