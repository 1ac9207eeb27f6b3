"""Messages, the ChatModel protocol and model backends. Depends on nothing else in hanlin."""

from hanlin.llm.chat_model import (
    BaseChatModel,
    ChatModel,
    ChatOptions,
    ChatResult,
    Completed,
    ModelError,
    StreamItem,
    TextDelta,
    ToolSpec,
    Usage,
)
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
    messages_from_dicts,
    messages_to_dicts,
)
from hanlin.llm.openai_http import OpenAICompatibleModel
from hanlin.llm.scripted import ScriptedModel
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind
from hanlin.llm.toolcalls.parsing import ParsedToolCalls, parse_tool_calls

__all__ = [
    "AssistantMessage",
    "AudioPart",
    "BaseChatModel",
    "ChatModel",
    "ChatOptions",
    "ChatResult",
    "Completed",
    "FilePart",
    "LocalModel",
    "OpenAICompatibleModel",
    "ParsedToolCalls",
    "ScriptedModel",
    "parse_tool_calls",
    "ImagePart",
    "Message",
    "ModelError",
    "StreamItem",
    "SystemMessage",
    "TextDelta",
    "TextPart",
    "ToolCall",
    "ToolCallError",
    "ToolErrorKind",
    "ToolMessage",
    "ToolSpec",
    "Usage",
    "UserMessage",
    "messages_from_dicts",
    "messages_to_dicts",
]
