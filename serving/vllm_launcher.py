"""Start vLLM's own OpenAI-compatible server, for production serving on a GPU machine.

vLLM is an optional dependency (it needs a GPU), so nothing here imports it: availability is
checked with ``find_spec`` and the server runs as ``python -m`` in place of this process.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence

VLLM_SERVER_MODULE = "vllm.entrypoints.openai.api_server"


def vllm_available() -> bool:
    """Whether vLLM is installed, without paying for (or risking) importing it."""
    try:
        return importlib.util.find_spec("vllm") is not None
    except (ImportError, ValueError):
        return False


def vllm_command(
    model: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    tool_call_parser: str = "hermes",
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The command line that serves ``model`` with tool calling enabled.

    ``tool_call_parser`` must match the model family's tool-call format (``hermes`` suits
    Qwen2.5 and Hermes models; vLLM also ships ``llama3_json``, ``mistral``, ...).
    """
    if not model:
        raise ValueError("vllm_command needs a model name or path")
    if not tool_call_parser:
        raise ValueError("vllm_command needs a tool_call_parser (for example 'hermes')")
    if not 0 < port < 65536:
        raise ValueError(f"port must be between 1 and 65535, not {port}")
    return [
        sys.executable,
        "-m",
        VLLM_SERVER_MODULE,
        "--model",
        model,
        "--host",
        host,
        "--port",
        str(port),
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        tool_call_parser,
        *extra_args,
    ]


def run_vllm(
    model: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    tool_call_parser: str = "hermes",
    extra_args: Sequence[str] = (),
) -> None:
    """Replace this process with vLLM's server; signals and exit codes then reach vLLM."""
    if not vllm_available():
        raise RuntimeError(
            "vLLM is not installed. Install it on a machine with a supported GPU "
            "(pip install 'hanlin[vllm]'), or serve a hanlin model with `hanlin serve`."
        )
    command = vllm_command(model, host, port, tool_call_parser, extra_args)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
