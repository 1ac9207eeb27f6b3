"""Conversion between hanlin's types and the OpenAI chat-completions JSON wire format.

Kept apart from the HTTP transport so the format can be tested (and reused, e.g. by a
server that speaks the same protocol) without a network. Requests go out as plain dicts;
responses come back either whole (``choices[0].message``) or as stream chunks
(``choices[0].delta``), and both are fed to one ``CompletionAssembler``.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from hanlin.llm.chat_model import ChatOptions, ChatResult, ToolSpec, Usage
from hanlin.llm.messages import (
    AssistantMessage,
    AudioPart,
    ContentPart,
    FilePart,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
    new_call_id,
)
from hanlin.llm.tool_errors import ToolCallError, ToolErrorKind

# Magic bytes of the image formats vision models accept, for files without a telling suffix.
_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# OpenAI's ``input_audio`` names formats, not media types.
_AUDIO_FORMATS: dict[str, str] = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
}


class WireFormatError(ValueError):
    """A message cannot be expressed in the OpenAI wire format (missing file, bad part)."""


# --------------------------------------------------------------------------- requests


def tools_to_openai(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [tool.openai_format() for tool in tools]


def messages_to_openai(messages: Sequence[Message]) -> list[dict[str, Any]]:
    return [message_to_openai(message) for message in messages]


def message_to_openai(message: Message) -> dict[str, Any]:
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.content}
    if isinstance(message, UserMessage):
        wire: dict[str, Any] = {"role": "user", "content": user_content_to_openai(message.content)}
        if message.name:
            wire["name"] = message.name
        return wire
    if isinstance(message, AssistantMessage):
        return _assistant_to_openai(message)
    if isinstance(message, ToolMessage):
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    raise WireFormatError(f"cannot send a message of type {type(message).__name__}")


def _assistant_to_openai(message: AssistantMessage) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": "assistant", "content": message.content}
    if message.tool_calls:
        # OpenAI allows (and some chat templates expect) null content beside tool calls.
        wire["content"] = message.content or None
        wire["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": json.dumps(call.arguments, ensure_ascii=False),
                },
            }
            for call in message.tool_calls
        ]
    if message.name:
        wire["name"] = message.name
    return wire


def user_content_to_openai(content: str | list[ContentPart]) -> str | list[dict[str, Any]]:
    """Text-only content becomes a plain string, which every server and chat template reads."""
    if isinstance(content, str):
        return content
    if all(isinstance(part, TextPart) for part in content):
        return "\n".join(part.text for part in content if isinstance(part, TextPart))
    return [content_part_to_openai(part) for part in content]


def content_part_to_openai(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        return {"type": "image_url", "image_url": {"url": image_url(part)}}
    if isinstance(part, AudioPart):
        return {"type": "input_audio", "input_audio": audio_payload(part)}
    if isinstance(part, FilePart):
        raise WireFormatError(
            f"file part {part.name or part.path!r} cannot go to the model as is; "
            "turn documents into text (perception) before sending them"
        )
    raise WireFormatError(f"unknown content part {part!r}")


def image_url(part: ImagePart) -> str:
    """The part's URL, or its local file inlined as a base64 ``data:`` URL."""
    if part.url:
        return part.url
    if not part.path:
        raise WireFormatError("an image part needs either a url or a path")
    data = _read_file(part.path, "image")
    media_type = part.media_type or _guess_image_type(part.path, data)
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def audio_payload(part: AudioPart) -> dict[str, str]:
    """``{"data": base64, "format": "wav"|"mp3"|...}`` as OpenAI's ``input_audio`` wants."""
    if part.data_base64:
        data_b64 = part.data_base64
    elif part.path:
        data_b64 = base64.b64encode(_read_file(part.path, "audio")).decode("ascii")
    else:
        raise WireFormatError("an audio part needs either data_base64 or a path")
    media_type = part.media_type or (mimetypes.guess_type(part.path)[0] if part.path else None)
    if media_type in _AUDIO_FORMATS:
        audio_format = _AUDIO_FORMATS[media_type]
    elif media_type and media_type.startswith("audio/"):
        audio_format = media_type.split("/", 1)[1].removeprefix("x-")
    elif part.path and Path(part.path).suffix:
        audio_format = Path(part.path).suffix.lstrip(".").lower()
    else:
        raise WireFormatError("cannot tell the audio format; set media_type (e.g. 'audio/wav')")
    return {"data": data_b64, "format": audio_format}


def _read_file(path: str, what: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise WireFormatError(f"cannot read {what} file {path!r}: {exc.strerror or exc}") from exc


def _guess_image_type(path: str, data: bytes) -> str:
    guessed = mimetypes.guess_type(path)[0]
    if guessed and guessed.startswith("image/"):
        return guessed
    for signature, media_type in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise WireFormatError(f"cannot tell the image type of {path!r}; set media_type")


def build_request(
    model: str,
    messages: Sequence[Message],
    *,
    tools: Sequence[ToolSpec] = (),
    options: ChatOptions | None = None,
    stream: bool = True,
) -> dict[str, Any]:
    """The JSON body of a ``POST /chat/completions`` request."""
    options = options or ChatOptions()
    body: dict[str, Any] = {
        "model": model,
        "messages": messages_to_openai(messages),
        "temperature": options.temperature,
        "max_tokens": options.max_tokens,
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    if options.stop:
        body["stop"] = list(options.stop)
    if options.seed is not None:
        body["seed"] = options.seed
    if tools:
        body["tools"] = tools_to_openai(tools)
        body["tool_choice"] = options.tool_choice
    if options.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": options.json_schema, "strict": True},
        }
    return body


# --------------------------------------------------------------------------- responses


class _PendingCall(BaseModel):
    """A tool call being assembled from stream fragments."""

    id: str = ""
    name: str = ""
    arguments: str = ""


def decode_tool_call(call_id: str, name: str, arguments: str) -> ToolCall | ToolCallError:
    """A wire tool call as a ``ToolCall``, or an error the model can correct."""
    call_id = call_id or new_call_id()
    if not name:
        return ToolCallError(
            kind=ToolErrorKind.UNPARSABLE,
            call_id=call_id,
            message="The tool call has no function name. Name the tool you want to call.",
        )
    text = arguments.strip()
    if not text:
        return ToolCall(id=call_id, name=name, arguments={})
    try:
        parsed = json.loads(text)
    except RecursionError:
        return ToolCallError(
            kind=ToolErrorKind.UNPARSABLE,
            tool_name=name,
            call_id=call_id,
            message=(
                f"The arguments of the call to {name!r} are nested too deeply to read. "
                "Send the arguments as one flat JSON object."
            ),
        )
    except json.JSONDecodeError as exc:
        shown = text if len(text) <= 200 else text[:200] + "..."
        return ToolCallError(
            kind=ToolErrorKind.UNPARSABLE,
            tool_name=name,
            call_id=call_id,
            message=(
                f"The arguments of the call to {name!r} are not valid JSON ({exc.msg} at "
                f"character {exc.pos}): {shown}. Send the arguments as one JSON object, "
                'e.g. {"key": "value"}.'
            ),
        )
    if not isinstance(parsed, dict):
        return ToolCallError(
            kind=ToolErrorKind.UNPARSABLE,
            tool_name=name,
            call_id=call_id,
            message=(
                f"The arguments of the call to {name!r} must be a JSON object with one key "
                f"per parameter, not {type(parsed).__name__}."
            ),
        )
    return ToolCall(id=call_id, name=name, arguments=parsed)


def _arguments_text(arguments: Any) -> str:
    """Some servers send arguments as an object instead of a JSON string."""
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)


class CompletionAssembler(BaseModel):
    """Collects one completion from stream chunks or a whole response, then builds the result."""

    text_parts: list[str] = Field(default_factory=list)
    pending: dict[int, _PendingCall] = Field(default_factory=dict)
    usage: Usage | None = None
    finish_reason: str | None = None

    def add_chunk(self, chunk: dict[str, Any]) -> str:
        """Feeds one stream chunk; returns the text it adds (possibly empty)."""
        self._take_usage(chunk)
        added: list[str] = []
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                added.append(content)
            for fragment in delta.get("tool_calls") or []:
                self._add_call_fragment(fragment)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        text = "".join(added)
        if text:
            self.text_parts.append(text)
        return text

    def add_response(self, response: dict[str, Any]) -> str:
        """Feeds a whole (non-streamed) response; returns its text."""
        self._take_usage(response)
        choices = response.get("choices") or []
        if not choices:
            return ""
        choice = choices[0]
        message = choice.get("message") or {}
        text = message.get("content") or ""
        if text:
            self.text_parts.append(text)
        for position, call in enumerate(message.get("tool_calls") or []):
            self._add_call_fragment({"index": position, **call})
        self.finish_reason = choice.get("finish_reason") or self.finish_reason
        return text

    def _take_usage(self, payload: dict[str, Any]) -> None:
        usage = payload.get("usage")
        if isinstance(usage, dict):
            self.usage = Usage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
            )

    def _add_call_fragment(self, fragment: dict[str, Any]) -> None:
        index = fragment.get("index")
        call_id = fragment.get("id") or ""
        if not isinstance(index, int):
            # Servers that omit the index: a new id starts a new call, else extend the last.
            known_ids = {pending.id for pending in self.pending.values()}
            if not self.pending or (call_id and call_id not in known_ids):
                index = len(self.pending)
            else:
                index = max(self.pending)
        pending = self.pending.setdefault(index, _PendingCall())
        if call_id and not pending.id:
            pending.id = call_id
        function = fragment.get("function") or {}
        name = function.get("name") or ""
        if name and name != pending.name:
            pending.name += name
        pending.arguments += _arguments_text(function.get("arguments"))

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def result(self, tools: Sequence[ToolSpec] = (), *, text_tool_calls: bool = True) -> ChatResult:
        """The finished turn; tool calls written into the text are extracted when asked to."""
        raw_text = self.text
        calls: list[ToolCall] = []
        errors: list[ToolCallError] = []
        for index in sorted(self.pending):
            pending = self.pending[index]
            decoded = decode_tool_call(pending.id, pending.name, pending.arguments)
            if isinstance(decoded, ToolCall):
                calls.append(decoded)
            else:
                errors.append(decoded)
        content = raw_text
        finish_reason = self.finish_reason or "stop"
        if not self.pending and text_tool_calls and tools and raw_text:
            content, calls, errors = extract_text_tool_calls(raw_text, tools)
            if calls and finish_reason == "stop":
                finish_reason = "tool_calls"
        return ChatResult(
            message=AssistantMessage(content=content, tool_calls=calls),
            usage=self.usage or Usage(),
            finish_reason=finish_reason,
            tool_errors=errors,
            raw_text=raw_text,
        )


def extract_text_tool_calls(
    text: str, tools: Sequence[ToolSpec]
) -> tuple[str, list[ToolCall], list[ToolCallError]]:
    """Tool calls a model wrote into its text (Hermes tags, bare JSON, ...), with stable ids."""
    from hanlin.llm.toolcalls.parsing import parse_tool_calls  # sibling module, loaded on use

    parsed = parse_tool_calls(text, tools)
    if not parsed.calls and not parsed.errors:
        return text, [], []
    calls = [
        call if call.id else call.model_copy(update={"id": new_call_id()}) for call in parsed.calls
    ]
    return parsed.content, calls, list(parsed.errors)
