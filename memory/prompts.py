"""MemoryBank's prompts in English and Chinese, and the memory section of the system prompt.

MemoryBank (Zhong et al., 2023) distils each day's dialogue into an event summary and a
personality analysis, then condenses all daily summaries into a global event summary and all
daily analyses into a global portrait of the user. The wording here is this project's own;
the content follows the paper and its released prompts. The released code never puts the
global event summary into the chat prompt (its templates lack the slot); here it is included,
as the paper describes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from hanlin.llm.messages import (
    AssistantMessage,
    AudioPart,
    FilePart,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")


def check_language(language: str) -> Language:
    """The language itself, or a ValueError naming the supported ones."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported memory language {language!r}; use 'en' or 'zh'")
    return language  # type: ignore[return-value]


class Speakers(BaseModel):
    """How the two sides of a dialogue are named in prompts (MemoryBank names both)."""

    user: str
    ai: str

    @classmethod
    def default(cls, language: Language) -> Speakers:
        return cls(user="User", ai="AI") if language == "en" else cls(user="用户", ai="AI")


class DatedText(BaseModel):
    """One day's summary or personality analysis, as the global prompts list them."""

    day: str
    text: str


# The frame every summary request is sent in: who the summarizer is.
SUMMARIZER_ROLE: dict[Language, str] = {
    "en": "You summarize conversations between a user and an AI companion. You read people "
    "well and know psychology. Answer with the summary only.",
    "zh": "你负责总结用户与AI伙伴之间的对话。你善于洞察人心，精通心理学。只输出总结内容。",
}


def _colon(language: Language) -> str:
    return ": " if language == "en" else "："


def dialogue_turn_text(
    user_text: str, reply: str, *, language: Language = "en", speakers: Speakers | None = None
) -> str:
    """How one exchange is stored as a ``turn`` memory: the user's words, then the reply."""
    names = speakers or Speakers.default(check_language(language))
    colon = _colon(language)
    return f"{names.user}{colon}{user_text}\n{names.ai}{colon}{reply}"


def daily_event_summary_prompt(day: str, turns: Sequence[str], *, language: Language = "en") -> str:
    """Ask for the day's events and key information, several events summarized separately."""
    dialogue = "\n".join(turns)
    if check_language(language) == "en":
        return (
            "Summarize the conversation below as briefly as you can, keeping its main topics "
            "and the key information. If several important events came up, summarize each "
            f"of them separately.\n\nConversation on {day}:\n{dialogue}\n\nSummary:"
        )
    return (
        "请尽可能简洁地总结下面的对话，提炼出其中的主要话题和关键信息。如果涉及多个重要事件，"
        f"可以分别加以总结。\n\n{day} 的对话：\n{dialogue}\n\n总结："
    )


def daily_personality_prompt(
    day: str, turns: Sequence[str], *, language: Language = "en", speakers: Speakers | None = None
) -> str:
    """Ask for the user's traits and emotions that day, and how the AI should respond."""
    names = speakers or Speakers.default(check_language(language))
    dialogue = "\n".join(turns)
    if language == "en":
        return (
            f"Based on the conversation below, describe {names.user}'s personality traits "
            f"and emotions, and from what you infer, work out how {names.ai} should respond "
            f"to them.\n\nConversation on {day}:\n{dialogue}\n\n"
            f"{names.user}'s personality traits and emotions, and {names.ai}'s response "
            "strategy:"
        )
    return (
        f"根据下面的对话，总结{names.user}的性格特点和情绪，并根据你的推断，给出{names.ai}"
        f"应当采取的回应策略。\n\n{day} 的对话：\n{dialogue}\n\n"
        f"{names.user}的性格特点、情绪，以及{names.ai}的回应策略："
    )


def global_event_summary_prompt(daily: Sequence[DatedText], *, language: Language = "en") -> str:
    """Ask to condense every daily summary into one very short overview of past events."""
    if check_language(language) == "en":
        events = "\n".join(f"On {d.day}, the events were: {d.text}" for d in daily)
        return (
            "Below are summaries of past events, one per day. Condense them into a highly "
            "concise summary that keeps only the essential information.\n\n"
            f"{events}\n\nOverall summary:"
        )
    events = "\n".join(f"{d.day}，发生的事件是：{d.text}" for d in daily)
    return (
        "以下是过去每天的事件总结。请将它们凝练成一段高度简洁的总结，只保留最关键的信息。\n\n"
        f"{events}\n\n总体总结："
    )


def global_portrait_prompt(
    daily: Sequence[DatedText], *, language: Language = "en", speakers: Speakers | None = None
) -> str:
    """Ask to fold the daily personality analyses into one portrait and one response strategy."""
    names = speakers or Speakers.default(check_language(language))
    if language == "en":
        notes = "\n".join(f"On {d.day}, the analysis found: {d.text}" for d in daily)
        return (
            f"Below are the personality traits and emotions {names.user} showed over several "
            "conversations, each with the response strategy suggested at the time.\n\n"
            f"{notes}\n\nGive a highly concise, general summary of {names.user}'s personality "
            f"and of the response strategy that suits {names.user} best for {names.ai}.\n\n"
            "Personality and response strategy:"
        )
    notes = "\n".join(f"{d.day}，分析结果是：{d.text}" for d in daily)
    return (
        f"以下是{names.user}在多次对话中表现出的性格特点和情绪，以及当时建议的回应策略。\n\n"
        f"{notes}\n\n请对{names.user}的性格以及{names.ai}最合适的回应策略做一个高度简洁、"
        "概括性的总结。\n\n性格与回应策略："
    )


def summary_request(prompt: str, language: Language) -> list[Message]:
    """The messages one summary request sends: the summarizer's role, then the prompt."""
    return [
        SystemMessage(content=SUMMARIZER_ROLE[check_language(language)]),
        UserMessage(content=prompt),
    ]


# --- Short-term memory: folding the oldest turns into a running summary -----------------

CONVERSATION_SUMMARY_HEADING: dict[Language, str] = {
    "en": "Summary of the earlier part of this conversation:",
    "zh": "本次对话较早部分的摘要：",
}


def conversation_fold_prompt(
    previous_summary: str, transcript: str, *, language: Language = "en"
) -> str:
    """Ask to merge the oldest turns into the running summary, losing nothing that matters."""
    if check_language(language) == "en":
        before = previous_summary or "(none yet)"
        return (
            "Update the running summary of a conversation with the turns below, which are "
            "about to leave the context window. Keep every fact, name, number, decision, "
            "tool result and open question the rest of the conversation may need; drop "
            "small talk. Write the updated summary only.\n\n"
            f"Summary so far:\n{before}\n\nTurns to add:\n{transcript}\n\nUpdated summary:"
        )
    before = previous_summary or "（暂无）"
    return (
        "下面这些对话轮次即将移出上下文窗口，请把它们并入对话的滚动摘要。保留后续对话可能用到的"
        "所有事实、名称、数字、决定、工具结果和尚未解决的问题，略去寒暄。只输出更新后的摘要。\n\n"
        f"目前的摘要：\n{before}\n\n要并入的对话：\n{transcript}\n\n更新后的摘要："
    )


def render_message(message: Message, language: Language = "en") -> str:
    """One message as a transcript line, tool calls and results included."""
    colon = _colon(language)
    en = check_language(language) == "en"
    if isinstance(message, SystemMessage):
        return f"{'System' if en else '系统'}{colon}{message.content}"
    if isinstance(message, UserMessage):
        return f"{'User' if en else '用户'}{colon}{user_text(message, en)}"
    if isinstance(message, AssistantMessage):
        lines = (
            [f"{'Assistant' if en else '助手'}{colon}{message.content}"] if message.content else []
        )
        for call in message.tool_calls:
            args = json.dumps(call.arguments, ensure_ascii=False, sort_keys=True)
            lines.append(
                f"Assistant called {call.name}({args}) [{call.id}]"
                if en
                else f"助手调用了 {call.name}（{args}）[{call.id}]"
            )
        return "\n".join(lines) or ("Assistant: (no text)" if en else "助手：（无内容）")
    assert isinstance(message, ToolMessage)
    if message.is_error:
        head = f"Error from {message.name}" if en else f"{message.name} 出错"
    else:
        head = f"Result of {message.name}" if en else f"{message.name} 的结果"
    return f"{head} [{message.tool_call_id}]{colon}{message.content}"


def user_text(message: UserMessage, en: bool = True) -> str:
    """The user's text, with a placeholder for each image, audio clip or file."""
    if isinstance(message.content, str):
        return message.content
    pieces: list[str] = []
    for part in message.content:
        if isinstance(part, TextPart):
            pieces.append(part.text)
        elif isinstance(part, ImagePart):
            pieces.append("[image]" if en else "[图片]")
        elif isinstance(part, AudioPart):
            pieces.append("[audio]" if en else "[音频]")
        elif isinstance(part, FilePart):
            pieces.append(f"[{'file' if en else '文件'} {part.name or part.path}]")
    return " ".join(pieces)


def render_transcript(messages: Sequence[Message], language: Language = "en") -> str:
    return "\n".join(render_message(m, language) for m in messages)


# --- The memory-augmented system prompt section --------------------------------------


class RetrievedMemory(BaseModel):
    """A recalled memory as the prompt shows it: its day, what kind it is, its text."""

    day: str
    kind: str
    text: str


_KIND_LABELS: dict[Language, dict[str, str]] = {
    "en": {
        "turn": "conversation",
        "daily_summary": "summary of that day",
        "experience": "note",
        "reflection": "reflection",
    },
    "zh": {
        "turn": "对话",
        "daily_summary": "当天的总结",
        "experience": "笔记",
        "reflection": "反思",
    },
}

_SECTION: dict[Language, dict[str, str]] = {
    "en": {
        "title": "# Long-term memory",
        "intro": "You remember earlier conversations with this user. Use what helps with the "
        "current message and leave the rest unmentioned; memories carry the day they "
        "are from, so say so when one may be out of date.",
        "summary": "Overall summary of past events:",
        "portrait": "The user's personality and the best way to respond:",
        "memories": "Memories related to the current message, oldest first:",
    },
    "zh": {
        "title": "# 长期记忆",
        "intro": "你记得与这位用户以往的对话。请利用对当前消息有帮助的内容，其余的不必提起；"
        "每条记忆都注明了日期，若某条记忆可能已经过时，请加以说明。",
        "summary": "以往事件的总体总结：",
        "portrait": "用户的性格特点及最合适的回应方式：",
        "memories": "与当前消息相关的记忆（按时间先后）：",
    },
}


def memory_system_section(
    memories: Sequence[RetrievedMemory],
    *,
    global_summary: str | None = None,
    portrait: str | None = None,
    language: Language = "en",
) -> str:
    """The system-prompt section of MemoryBank's memory-augmented prompt; "" with no memory."""
    words = _SECTION[check_language(language)]
    if not memories and not global_summary and not portrait:
        return ""
    parts = [words["title"], words["intro"]]
    if global_summary:
        parts.append(f"{words['summary']}\n{global_summary.strip()}")
    if portrait:
        parts.append(f"{words['portrait']}\n{portrait.strip()}")
    if memories:
        labels = _KIND_LABELS[language]
        lines = []
        for memory in memories:
            body = memory.text.strip().replace("\n", "\n  ")
            lines.append(f"- [{memory.day}] ({labels.get(memory.kind, memory.kind)}) {body}")
        parts.append(words["memories"] + "\n" + "\n".join(lines))
    return "\n\n".join(parts)
