"""hanlin: agent orchestration on your own models.

The names below are the public surface: ``from hanlin import Agent, Runner, tool``. They load
on first use, so ``import hanlin`` stays cheap (no model runtime, UI or training stack is
imported until a name that needs it is touched). The subpackages are the house's rooms:
``llm``, ``tools``, ``sandbox``, ``memory``, ``contract``, ``planner``, ``agents``, ``runtime``,
``service``, ``ui``, ``training``, ``cli``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hanlin._lazy import lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from hanlin.agents.agent import Agent
    from hanlin.agents.debate import (
        ARITHMETIC_PROMPTS,
        CHOICE_PROMPTS,
        MATH_PROMPTS,
        Debate,
        DebateAgent,
        DebateOutcome,
        DebatePrompts,
    )
    from hanlin.agents.group_chat import GroupChat
    from hanlin.agents.memory import AgentMemory
    from hanlin.agents.memory_tools import memory_tools
    from hanlin.agents.perception import Perception, PerceptionConfig, PerceptionError
    from hanlin.agents.planners import (
        ChainOfThoughtAgent,
        LeastToMostAgent,
        PlanExecuteAgent,
        ReflexionAgent,
    )
    from hanlin.agents.role_play import RoleCritic, RolePlay
    from hanlin.agents.spec import AgentSpec
    from hanlin.agents.supervisor import Supervisor
    from hanlin.contract.approval import ApprovalDecision
    from hanlin.contract.events import (
        ErrorEvent,
        Event,
        FinalAnswerEvent,
        InterruptEvent,
        MemoryRecallEvent,
        MessageEvent,
        PlanEvent,
        TokenEvent,
        ToolCallEvent,
        ToolResultEvent,
    )
    from hanlin.contract.target import RunTarget
    from hanlin.llm.chat_model import BaseChatModel, ChatModel, ChatOptions, ChatResult, ModelError
    from hanlin.llm.embeddings import default_embedder
    from hanlin.llm.local_model import LocalModel
    from hanlin.llm.messages import (
        AssistantMessage,
        AudioPart,
        FilePart,
        ImagePart,
        Message,
        SystemMessage,
        TextPart,
        ToolCall,
        ToolMessage,
        UserMessage,
    )
    from hanlin.llm.openai_http import OpenAICompatibleModel
    from hanlin.llm.scripted import ScriptedModel
    from hanlin.llm.tool_errors import ToolErrorKind
    from hanlin.llm.transformers_model import TransformersModel
    from hanlin.memory.inputs import MemoryInputError
    from hanlin.memory.short_term import ShortTermMemory
    from hanlin.memory.store import MemoryStore, MemoryStoreConfig
    from hanlin.memory.summarizer import MemorySummarizer
    from hanlin.runtime.redis_runtime import redis_runner
    from hanlin.runtime.runner import Runner, RunResult
    from hanlin.runtime.settings import HanlinSettings, load_settings
    from hanlin.sandbox import ExecResult, Limits, SandboxSession, run_python, run_shell
    from hanlin.service.app_registry import ServiceApp
    from hanlin.tools.builtin.calculator import calculator
    from hanlin.tools.builtin.http_get import HttpGet
    from hanlin.tools.builtin.python_tool import PythonTool, SandboxWorkspace, ShellTool
    from hanlin.tools.builtin.scratch_files import ScratchFiles
    from hanlin.tools.failure import ToolFailure
    from hanlin.tools.mcp_source import McpServer, McpToolSource
    from hanlin.tools.registry import ToolRegistry, ToolResult
    from hanlin.tools.rest_plugin import RestAuth, RestPlugin, http_tool
    from hanlin.tools.schema_limits import SchemaLimits
    from hanlin.tools.tool import Tool, tool
    from hanlin.tools.toolkit import Toolkit

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "ARITHMETIC_PROMPTS": "hanlin.agents.debate",
    "Agent": "hanlin.agents.agent",
    "AgentMemory": "hanlin.agents.memory",
    "AgentSpec": "hanlin.agents.spec",
    "ApprovalDecision": "hanlin.contract.approval",
    "AssistantMessage": "hanlin.llm.messages",
    "AudioPart": "hanlin.llm.messages",
    "BaseChatModel": "hanlin.llm.chat_model",
    "CHOICE_PROMPTS": "hanlin.agents.debate",
    "ChainOfThoughtAgent": "hanlin.agents.planners",
    "ChatModel": "hanlin.llm.chat_model",
    "ChatOptions": "hanlin.llm.chat_model",
    "ChatResult": "hanlin.llm.chat_model",
    "Debate": "hanlin.agents.debate",
    "DebateAgent": "hanlin.agents.debate",
    "DebateOutcome": "hanlin.agents.debate",
    "DebatePrompts": "hanlin.agents.debate",
    "ErrorEvent": "hanlin.contract.events",
    "Event": "hanlin.contract.events",
    "ExecResult": "hanlin.sandbox",
    "FilePart": "hanlin.llm.messages",
    "FinalAnswerEvent": "hanlin.contract.events",
    "GroupChat": "hanlin.agents.group_chat",
    "HanlinSettings": "hanlin.runtime.settings",
    "HttpGet": "hanlin.tools.builtin.http_get",
    "ImagePart": "hanlin.llm.messages",
    "InterruptEvent": "hanlin.contract.events",
    "LeastToMostAgent": "hanlin.agents.planners",
    "Limits": "hanlin.sandbox",
    "LocalModel": "hanlin.llm.local_model",
    "MATH_PROMPTS": "hanlin.agents.debate",
    "McpServer": "hanlin.tools.mcp_source",
    "McpToolSource": "hanlin.tools.mcp_source",
    "MemoryRecallEvent": "hanlin.contract.events",
    "MemoryInputError": "hanlin.memory.inputs",
    "MemoryStore": "hanlin.memory.store",
    "MemoryStoreConfig": "hanlin.memory.store",
    "MemorySummarizer": "hanlin.memory.summarizer",
    "Message": "hanlin.llm.messages",
    "MessageEvent": "hanlin.contract.events",
    "ModelError": "hanlin.llm.chat_model",
    "OpenAICompatibleModel": "hanlin.llm.openai_http",
    "Perception": "hanlin.agents.perception",
    "PerceptionConfig": "hanlin.agents.perception",
    "PerceptionError": "hanlin.agents.perception",
    "PlanEvent": "hanlin.contract.events",
    "PlanExecuteAgent": "hanlin.agents.planners",
    "PythonTool": "hanlin.tools.builtin.python_tool",
    "ReflexionAgent": "hanlin.agents.planners",
    "RestAuth": "hanlin.tools.rest_plugin",
    "RestPlugin": "hanlin.tools.rest_plugin",
    "RoleCritic": "hanlin.agents.role_play",
    "RolePlay": "hanlin.agents.role_play",
    "RunResult": "hanlin.runtime.runner",
    "RunTarget": "hanlin.contract.target",
    "Runner": "hanlin.runtime.runner",
    "SandboxSession": "hanlin.sandbox",
    "SandboxWorkspace": "hanlin.tools.builtin.python_tool",
    "ScratchFiles": "hanlin.tools.builtin.scratch_files",
    "ScriptedModel": "hanlin.llm.scripted",
    "ServiceApp": "hanlin.service.app_registry",
    "SchemaLimits": "hanlin.tools.schema_limits",
    "ShellTool": "hanlin.tools.builtin.python_tool",
    "ShortTermMemory": "hanlin.memory.short_term",
    "Supervisor": "hanlin.agents.supervisor",
    "SystemMessage": "hanlin.llm.messages",
    "TextPart": "hanlin.llm.messages",
    "TokenEvent": "hanlin.contract.events",
    "Tool": "hanlin.tools.tool",
    "ToolCall": "hanlin.llm.messages",
    "ToolCallEvent": "hanlin.contract.events",
    "ToolErrorKind": "hanlin.llm.tool_errors",
    "ToolFailure": "hanlin.tools.failure",
    "ToolMessage": "hanlin.llm.messages",
    "ToolRegistry": "hanlin.tools.registry",
    "ToolResult": "hanlin.tools.registry",
    "ToolResultEvent": "hanlin.contract.events",
    "Toolkit": "hanlin.tools.toolkit",
    "TransformersModel": "hanlin.llm.transformers_model",
    "UserMessage": "hanlin.llm.messages",
    "calculator": "hanlin.tools.builtin.calculator",
    "default_embedder": "hanlin.llm.embeddings",
    "http_tool": "hanlin.tools.rest_plugin",
    "load_settings": "hanlin.runtime.settings",
    "memory_tools": "hanlin.agents.memory_tools",
    "redis_runner": "hanlin.runtime.redis_runtime",
    "run_python": "hanlin.sandbox",
    "run_shell": "hanlin.sandbox",
    "tool": "hanlin.tools.tool",
}

__all__ = [
    "ARITHMETIC_PROMPTS",
    "Agent",
    "AgentMemory",
    "AgentSpec",
    "ApprovalDecision",
    "AssistantMessage",
    "AudioPart",
    "BaseChatModel",
    "CHOICE_PROMPTS",
    "ChainOfThoughtAgent",
    "ChatModel",
    "ChatOptions",
    "ChatResult",
    "Debate",
    "DebateAgent",
    "DebateOutcome",
    "DebatePrompts",
    "ErrorEvent",
    "Event",
    "ExecResult",
    "FilePart",
    "FinalAnswerEvent",
    "GroupChat",
    "HanlinSettings",
    "HttpGet",
    "ImagePart",
    "InterruptEvent",
    "LeastToMostAgent",
    "Limits",
    "LocalModel",
    "MATH_PROMPTS",
    "McpServer",
    "McpToolSource",
    "MemoryRecallEvent",
    "MemoryInputError",
    "MemoryStore",
    "MemoryStoreConfig",
    "MemorySummarizer",
    "Message",
    "MessageEvent",
    "ModelError",
    "OpenAICompatibleModel",
    "Perception",
    "PerceptionConfig",
    "PerceptionError",
    "PlanEvent",
    "PlanExecuteAgent",
    "PythonTool",
    "ReflexionAgent",
    "RestAuth",
    "RestPlugin",
    "RoleCritic",
    "RolePlay",
    "RunResult",
    "RunTarget",
    "Runner",
    "SandboxSession",
    "SandboxWorkspace",
    "ScratchFiles",
    "ScriptedModel",
    "SchemaLimits",
    "ServiceApp",
    "ShellTool",
    "ShortTermMemory",
    "Supervisor",
    "SystemMessage",
    "TextPart",
    "TokenEvent",
    "Tool",
    "ToolCall",
    "ToolCallEvent",
    "ToolErrorKind",
    "ToolFailure",
    "ToolMessage",
    "ToolRegistry",
    "ToolResult",
    "ToolResultEvent",
    "Toolkit",
    "TransformersModel",
    "UserMessage",
    "calculator",
    "default_embedder",
    "http_tool",
    "load_settings",
    "memory_tools",
    "redis_runner",
    "run_python",
    "run_shell",
    "tool",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
