"""OpenAI chat-completions requests, read into hanlin messages, tools and options.

This is the server's side of the wire: it accepts what OpenAI clients send and turns it into
the types every hanlin ``ChatModel`` understands. Anything that cannot be mapped faithfully is
refused with a ``WireError`` naming the offending field, rather than silently dropped.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field

from hanlin.llm.chat_model import ChatOptions, ToolSpec
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
)


class WireError(ValueError):
    """A request that is well-formed JSON but cannot be served; ``param`` names the field."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param


class _Wire(BaseModel):
    # Clients send fields we do not use (logprobs, user, metadata, ...); ignore them.
    model_config = ConfigDict(extra="ignore")


# --- content parts ------------------------------------------------------------------------


class WireTextPart(_Wire):
    type: Literal["text"]
    text: str


class WireImageURL(_Wire):
    url: str
    detail: str | None = None


class WireImagePart(_Wire):
    type: Literal["image_url"]
    image_url: WireImageURL


class WireInputAudio(_Wire):
    data: str
    format: str


class WireAudioPart(_Wire):
    type: Literal["input_audio"]
    input_audio: WireInputAudio


class WireFile(_Wire):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class WireFilePart(_Wire):
    type: Literal["file"]
    file: WireFile


class WireRefusalPart(_Wire):
    type: Literal["refusal"]
    refusal: str


WireUserPart = Annotated[
    WireTextPart | WireImagePart | WireAudioPart | WireFilePart, Field(discriminator="type")
]
WireAssistantPart = Annotated[WireTextPart | WireRefusalPart, Field(discriminator="type")]


# --- messages -----------------------------------------------------------------------------


class WireFunctionCall(_Wire):
    name: str
    arguments: str = "{}"


class WireToolCall(_Wire):
    id: str
    type: Literal["function"] = "function"
    function: WireFunctionCall


class WireSystemMessage(_Wire):
    role: Literal["system", "developer"]
    content: str | list[WireTextPart]
    name: str | None = None


class WireUserMessage(_Wire):
    role: Literal["user"]
    content: str | list[WireUserPart]
    name: str | None = None


class WireAssistantMessage(_Wire):
    role: Literal["assistant"]
    content: str | list[WireAssistantPart] | None = None
    tool_calls: list[WireToolCall] | None = None
    name: str | None = None


class WireToolMessage(_Wire):
    role: Literal["tool"]
    tool_call_id: str
    content: str | list[WireTextPart]


WireMessage = Annotated[
    WireSystemMessage | WireUserMessage | WireAssistantMessage | WireToolMessage,
    Field(discriminator="role"),
]


# --- tools and options --------------------------------------------------------------------


class WireFunction(_Wire):
    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class WireTool(_Wire):
    type: Literal["function"] = "function"
    function: WireFunction


class WireNamedFunction(_Wire):
    name: str


class WireNamedToolChoice(_Wire):
    type: Literal["function"] = "function"
    function: WireNamedFunction


class WireJSONSchema(_Wire):
    name: str = "response"
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class WireResponseFormat(_Wire):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: WireJSONSchema | None = None


class WireStreamOptions(_Wire):
    include_usage: bool = False


class ChatCompletionRequest(_Wire):
    """The fields of ``POST /v1/chat/completions`` that hanlin models can honour."""

    model: str
    messages: list[WireMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: WireStreamOptions | None = None
    tools: list[WireTool] | None = None
    tool_choice: Literal["auto", "none", "required"] | WireNamedToolChoice | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    response_format: WireResponseFormat | None = None
    n: int = Field(default=1, ge=1)


# --- conversion ---------------------------------------------------------------------------


class AttachmentStore:
    """Holds files sent inline (base64) on disk for the length of one request.

    ``FilePart`` points at a path, so inline documents are written to a private temporary
    folder that ``cleanup`` removes once the model has answered.
    """

    def __init__(self) -> None:
        self._folder: Path | None = None

    def save(self, data: bytes, filename: str) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="hanlin-upload-"))
        target = self._folder / (Path(filename).name or "upload")
        stem, suffix, counter = target.stem, target.suffix, 1
        while target.exists():
            target = self._folder / f"{stem}-{counter}{suffix}"
            counter += 1
        target.write_bytes(data)
        return target

    def cleanup(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


_AUDIO_MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}


def _data_url_media_type(url: str) -> str | None:
    if not url.startswith("data:"):
        return None
    return url[5:].split(";", 1)[0].split(",", 1)[0] or None


def _decode_file_data(file_data: str, param: str) -> tuple[bytes, str | None]:
    media_type = _data_url_media_type(file_data)
    payload = file_data.split(",", 1)[1] if file_data.startswith("data:") else file_data
    try:
        return base64.b64decode(payload, validate=True), media_type
    except (binascii.Error, ValueError) as exc:
        raise WireError(f"file_data is not valid base64: {exc}", param) from exc


def _text_of(content: str | list[WireTextPart] | list[Any] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(part.text for part in content if isinstance(part, WireTextPart))


def _user_part(part: Any, param: str, store: AttachmentStore) -> ContentPart:
    if isinstance(part, WireTextPart):
        return TextPart(text=part.text)
    if isinstance(part, WireImagePart):
        url = part.image_url.url
        return ImagePart(url=url, media_type=_data_url_media_type(url))
    if isinstance(part, WireAudioPart):
        audio = part.input_audio
        media_type = _AUDIO_MEDIA_TYPES.get(audio.format, f"audio/{audio.format}")
        return AudioPart(data_base64=audio.data, media_type=media_type)
    file = part.file
    if file.file_data is None:
        reason = "uploaded file ids are not supported" if file.file_id else "it has no file_data"
        raise WireError(
            f"cannot read the file part: {reason}; send it inline as file_data", f"{param}.file"
        )
    data, declared = _decode_file_data(file.file_data, f"{param}.file.file_data")
    name = file.filename or "upload"
    path = store.save(data, name)
    file_type = declared or mimetypes.guess_type(name)[0]
    return FilePart(path=str(path), name=file.filename, media_type=file_type)


def _tool_call(call: WireToolCall, param: str) -> ToolCall:
    try:
        arguments = json.loads(call.function.arguments or "{}")
    except json.JSONDecodeError as exc:
        raise WireError(
            f"tool call arguments are not valid JSON: {exc}", f"{param}.function.arguments"
        ) from exc
    if not isinstance(arguments, dict):
        raise WireError("tool call arguments must be a JSON object", f"{param}.function.arguments")
    return ToolCall(id=call.id, name=call.function.name, arguments=arguments)


def to_hanlin_messages(wire: list[Any], store: AttachmentStore) -> list[Message]:
    """Convert OpenAI messages; tool results take their tool's name from the call they answer."""
    messages: list[Message] = []
    call_names: dict[str, str] = {}
    for index, item in enumerate(wire):
        param = f"messages[{index}]"
        if isinstance(item, WireSystemMessage):
            messages.append(SystemMessage(content=_text_of(item.content)))
        elif isinstance(item, WireUserMessage):
            content: str | list[ContentPart] = (
                item.content
                if isinstance(item.content, str)
                else [
                    _user_part(p, f"{param}.content[{i}]", store)
                    for i, p in enumerate(item.content)
                ]
            )
            messages.append(UserMessage(content=content, name=item.name))
        elif isinstance(item, WireAssistantMessage):
            calls = [
                _tool_call(c, f"{param}.tool_calls[{i}]")
                for i, c in enumerate(item.tool_calls or [])
            ]
            call_names.update({c.id: c.name for c in calls})
            messages.append(
                AssistantMessage(content=_text_of(item.content), tool_calls=calls, name=item.name)
            )
        else:
            name = call_names.get(item.tool_call_id)
            if name is None:
                raise WireError(
                    f"tool message answers tool_call_id {item.tool_call_id!r}, which no earlier "
                    "assistant message requested",
                    f"{param}.tool_call_id",
                )
            messages.append(
                ToolMessage(
                    tool_call_id=item.tool_call_id, name=name, content=_text_of(item.content)
                )
            )
    return messages


def _resolves(ref: str, root: dict[str, Any]) -> bool:
    """Whether a local ``$ref`` (a JSON pointer or an ``$anchor``) names part of ``root``."""
    if ref == "#":
        return True
    if not ref.startswith("#/"):
        anchor = ref[1:]
        return any(node.get("$anchor") == anchor for node in _schema_nodes(root))
    node: Any = root
    for raw in ref[2:].split("/"):
        key = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False
    return True


def _schema_nodes(schema: Any) -> list[dict[str, Any]]:
    """Every object inside ``schema``, found without recursion."""
    nodes, stack = [], [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            nodes.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return nodes


def check_json_schema(schema: dict[str, Any], param: str) -> None:
    """Refuse a schema that is not valid JSON Schema or whose ``$ref`` points nowhere.

    Such a schema is the client's mistake (400), not the model's; and a ``$ref`` outside the
    schema would have the server fetch a URL the client chose, so only local ones pass.
    """
    from jsonschema import exceptions, validators

    validator = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        validator.check_schema(schema)
    except exceptions.SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "the top level"
        raise WireError(f"not a valid JSON schema at {where}: {exc.message}", param) from None
    for node in _schema_nodes(schema):
        ref = node.get("$ref")
        if not isinstance(ref, str):
            continue
        if not ref.startswith("#"):
            raise WireError(
                f"$ref {ref!r} points outside the schema; only local references "
                "(#/$defs/...) are supported",
                param,
            )
        if not _resolves(ref, schema):
            raise WireError(f"$ref {ref!r} does not point to anything in the schema", param)


def to_hanlin_tools(request: ChatCompletionRequest) -> list[ToolSpec]:
    """The tools offered, narrowed to one when ``tool_choice`` names a function."""
    for index, tool in enumerate(request.tools or []):
        check_json_schema(tool.function.parameters, f"tools[{index}].function.parameters")
    tools = [
        ToolSpec(
            name=t.function.name,
            description=t.function.description,
            parameters=t.function.parameters,
        )
        for t in request.tools or []
    ]
    choice = request.tool_choice
    if isinstance(choice, WireNamedToolChoice):
        chosen = [t for t in tools if t.name == choice.function.name]
        if not chosen:
            raise WireError(
                f"tool_choice names {choice.function.name!r}, which is not among "
                f"the tools: {[t.name for t in tools]}",
                "tool_choice",
            )
        return chosen
    return tools


def to_chat_options(request: ChatCompletionRequest) -> ChatOptions:
    """Map sampling fields onto ``ChatOptions``; fields not sent keep the model's defaults."""
    if request.n != 1:
        raise WireError("only n=1 is supported", "n")
    values: dict[str, Any] = {}
    if request.temperature is not None:
        values["temperature"] = request.temperature
    max_tokens = request.max_completion_tokens or request.max_tokens
    if max_tokens is not None:
        values["max_tokens"] = max_tokens
    if request.stop is not None:
        values["stop"] = [request.stop] if isinstance(request.stop, str) else request.stop
    if request.seed is not None:
        values["seed"] = request.seed
    choice = request.tool_choice
    if isinstance(choice, WireNamedToolChoice):
        values["tool_choice"] = "required"
    elif choice is not None:
        values["tool_choice"] = choice
    values["json_schema"] = _json_schema(request.response_format)
    return ChatOptions(**values)


def _json_schema(response_format: WireResponseFormat | None) -> dict[str, Any] | None:
    if response_format is None or response_format.type == "text":
        return None
    if response_format.type == "json_object":
        return {"type": "object"}
    if response_format.json_schema is None or not response_format.json_schema.schema_:
        raise WireError(
            "response_format of type json_schema needs json_schema.schema",
            "response_format.json_schema",
        )
    check_json_schema(response_format.json_schema.schema_, "response_format.json_schema.schema")
    return response_format.json_schema.schema_
