"""The system-prompt section that teaches a model without native tool calling to call tools.

It asks for the Hermes/Qwen ``<tool_call>`` format — the one most small open models were
fine-tuned on and the first one ``parse_tool_calls`` reads — and lists every tool as a
one-line JSON schema, as Qwen's own chat template does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from hanlin.llm.chat_model import ToolSpec


def tool_instructions(tools: Sequence[ToolSpec]) -> str:
    """A compact prompt section describing ``tools`` and how to call them; "" for no tools."""
    if not tools:
        return ""
    listed = "\n".join(
        json.dumps(
            {"name": t.name, "description": t.description, "parameters": t.parameters},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for t in tools
    )
    return (
        "# Tools\n\n"
        "You can call these tools. Each is described by a JSON schema:\n"
        f"<tools>\n{listed}\n</tools>\n\n"
        "To call a tool, write one block per call, exactly like this:\n"
        "<tool_call>\n"
        '{"name": "<tool name>", "arguments": {"<parameter>": "<value>"}}\n'
        "</tool_call>\n"
        "Rules: use only the tools and parameter names listed above; give the arguments as a "
        "JSON object with double-quoted strings; include every required parameter. You may "
        "write several <tool_call> blocks to call several tools at once. After calling, stop "
        "and wait: the results come back inside <tool_response> tags. If no tool is needed, "
        "answer directly without any <tool_call>."
    )
