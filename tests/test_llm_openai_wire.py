"""Conversions between hanlin messages and the OpenAI chat-completions JSON format."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from hanlin.llm import (
    AssistantMessage,
    AudioPart,
    ChatOptions,
    FilePart,
    ImagePart,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolErrorKind,
    ToolMessage,
    ToolSpec,
    UserMessage,
)
from hanlin.llm.openai_wire import (
    CompletionAssembler,
    WireFormatError,
    build_request,
    decode_tool_call,
    message_to_openai,
    messages_to_openai,
)

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_image_path_becomes_a_base64_data_url(tmp_path: Path) -> None:
    image = tmp_path / "chart.png"
    image.write_bytes(PNG_BYTES)
    wire = message_to_openai(
        UserMessage(
            content=[
                TextPart(text="What does this show?"),
                ImagePart(path=str(image)),
            ]
        )
    )
    assert wire["content"][0] == {"type": "text", "text": "What does this show?"}
    url = wire["content"][1]["image_url"]["url"]
    assert url == "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()


def test_image_type_is_sniffed_when_the_name_does_not_tell(tmp_path: Path) -> None:
    image = tmp_path / "upload"
    image.write_bytes(PNG_BYTES)
    wire = message_to_openai(UserMessage(content=[ImagePart(path=str(image))]))
    assert wire["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_image_url_passes_through() -> None:
    wire = message_to_openai(UserMessage(content=[ImagePart(url="https://example.org/a.jpg")]))
    assert wire["content"] == [
        {"type": "image_url", "image_url": {"url": "https://example.org/a.jpg"}}
    ]


def test_missing_image_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    with pytest.raises(WireFormatError, match=re.escape(str(missing))):
        message_to_openai(UserMessage(content=[ImagePart(path=str(missing))]))


def test_audio_becomes_input_audio(tmp_path: Path) -> None:
    clip = tmp_path / "question.wav"
    clip.write_bytes(b"RIFF0000WAVEfmt ")
    wire = message_to_openai(UserMessage(content=[AudioPart(path=str(clip))]))
    assert wire["content"] == [
        {
            "type": "input_audio",
            "input_audio": {
                "data": base64.b64encode(b"RIFF0000WAVEfmt ").decode(),
                "format": "wav",
            },
        }
    ]
    given = message_to_openai(
        UserMessage(content=[AudioPart(data_base64="AAAA", media_type="audio/mpeg")])
    )
    assert given["content"][0]["input_audio"] == {"data": "AAAA", "format": "mp3"}


def test_documents_must_be_turned_into_text_first(tmp_path: Path) -> None:
    with pytest.raises(WireFormatError, match="perception"):
        message_to_openai(UserMessage(content=[FilePart(path=str(tmp_path / "report.pdf"))]))


def test_text_only_parts_are_sent_as_a_string() -> None:
    wire = message_to_openai(
        UserMessage(content=[TextPart(text="a"), TextPart(text="b")], name="alice")
    )
    assert wire == {"role": "user", "content": "a\nb", "name": "alice"}


def test_tool_results_and_assistant_calls() -> None:
    wire = messages_to_openai(
        [
            SystemMessage(content="sys"),
            AssistantMessage(
                content="Checking.",
                name="researcher",
                tool_calls=[
                    ToolCall(id="c1", name="search", arguments={"q": "茶", "k": 3}),
                ],
            ),
            ToolMessage(tool_call_id="c1", name="search", content="3 hits", is_error=False),
            AssistantMessage(content="Done."),
        ]
    )
    assistant, tool, answer = wire[1], wire[2], wire[3]
    assert assistant["content"] == "Checking." and assistant["name"] == "researcher"
    [call] = assistant["tool_calls"]
    assert call["id"] == "c1" and call["type"] == "function"
    assert isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"]) == {"q": "茶", "k": 3}
    assert tool == {"role": "tool", "tool_call_id": "c1", "content": "3 hits"}
    assert answer == {"role": "assistant", "content": "Done."}


def test_build_request_sends_tools_only_when_given() -> None:
    plain = build_request("m", [UserMessage(content="hi")], options=ChatOptions(tool_choice="none"))
    assert "tools" not in plain and "tool_choice" not in plain
    assert "stop" not in plain and "seed" not in plain
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    tool = ToolSpec(name="f", parameters=schema)
    with_tools = build_request("m", [UserMessage(content="hi")], tools=[tool], stream=False)
    assert with_tools["tools"] == [
        {"type": "function", "function": {"name": "f", "description": "", "parameters": schema}}
    ]
    assert with_tools["tool_choice"] == "auto"
    assert with_tools["stream"] is False and "stream_options" not in with_tools


def test_decode_tool_call_reports_what_is_wrong() -> None:
    assert decode_tool_call("c", "f", '{"x": 1}') == ToolCall(id="c", name="f", arguments={"x": 1})
    assert decode_tool_call("c", "f", "  ") == ToolCall(id="c", name="f", arguments={})
    not_object = decode_tool_call("c", "f", "[1, 2]")
    assert not_object.kind == ToolErrorKind.UNPARSABLE and "JSON object" in not_object.message
    nameless = decode_tool_call("", "", "{}")
    assert nameless.kind == ToolErrorKind.UNPARSABLE and re.fullmatch(
        r"call_[0-9a-f]{12}", nameless.call_id
    )


def test_assembler_handles_fragments_without_index() -> None:
    assembler = CompletionAssembler()
    for fragment in [
        {"id": "a", "function": {"name": "f", "arguments": '{"x":'}},
        {"function": {"arguments": " 1}"}},
        {"id": "b", "function": {"name": "g", "arguments": {"y": 2}}},
    ]:
        assembler.add_chunk({"choices": [{"index": 0, "delta": {"tool_calls": [fragment]}}]})
    result = assembler.result()
    assert result.message.tool_calls == [
        ToolCall(id="a", name="f", arguments={"x": 1}),
        ToolCall(id="b", name="g", arguments={"y": 2}),
    ]
