"""Building vLLM's server command and finding vLLM without importing it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hanlin.serving.vllm_launcher import run_vllm, vllm_available, vllm_command


def test_vllm_command_enables_tool_calling() -> None:
    command = vllm_command("Qwen/Qwen2.5-7B-Instruct", "0.0.0.0", 9000)
    assert command == [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        "Qwen/Qwen2.5-7B-Instruct",
        "--host",
        "0.0.0.0",
        "--port",
        "9000",
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
    ]
    tuned = vllm_command(
        "m", tool_call_parser="llama3_json", extra_args=["--max-model-len", "8192"]
    )
    assert tuned[-4:] == ["--tool-call-parser", "llama3_json", "--max-model-len", "8192"]
    assert tuned[tuned.index("--host") + 1] == "127.0.0.1"
    with pytest.raises(ValueError, match="model"):
        vllm_command("")
    with pytest.raises(ValueError, match="port"):
        vllm_command("m", port=0)


def test_vllm_availability_is_checked_without_importing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert vllm_available() is False
    with pytest.raises(RuntimeError, match="not installed"):
        run_vllm("some/model")
    package = tmp_path / "vllm"
    package.mkdir()
    (package / "__init__.py").write_text("raise ImportError('importing vllm is not allowed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert vllm_available() is True
    assert "vllm" not in sys.modules


def test_run_vllm_hands_the_process_over_to_the_server_module(tmp_path: Path) -> None:
    server = tmp_path / "vllm" / "entrypoints" / "openai"
    server.mkdir(parents=True)
    for folder in (tmp_path / "vllm", tmp_path / "vllm" / "entrypoints", server):
        (folder / "__init__.py").write_text("")
    (server / "api_server.py").write_text(
        "import json, os, sys\nprint(json.dumps({'argv': sys.argv[1:], 'pid': os.getpid()}))\n"
    )
    launcher = (
        "import os, sys\nfrom hanlin.serving.vllm_launcher import run_vllm\n"
        "print(os.getpid(), flush=True)\nrun_vllm('my/model', port=9100)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", launcher],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    launcher_pid, reported = done.stdout.splitlines()
    served = json.loads(reported)
    assert served["argv"] == [
        "--model",
        "my/model",
        "--host",
        "127.0.0.1",
        "--port",
        "9100",
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
    ]
    assert served["pid"] == int(launcher_pid), "vLLM replaces the launcher process"
