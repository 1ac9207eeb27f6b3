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
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind

__all__ = [
    "AssistantMessage", "AudioPart", "BaseChatModel", "ChatModel", "ChatOptions", "ChatResult",
    "Completed", "FilePart", "ImagePart", "Message", "ModelError", "StreamItem", "SystemMessage",
    "TextDelta", "TextPart", "ToolCall", "ToolCallError", "ToolErrorKind", "ToolMessage",
    "ToolSpec", "Usage", "UserMessage", "messages_from_dicts", "messages_to_dicts",
]
