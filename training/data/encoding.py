"""One training sample as token ids: the prompt exactly as inference renders it, then the turn.

The prompt is what a local backend sends the model (``to_template_messages`` through the
tokenizer's chat template, generation prompt included) and the target is the assistant turn
as the same code renders it, followed by the template's end-of-turn marker, so the model
learns to write the turn *and to stop*. The loss falls on the target only.

Prompt and target are tokenized separately and concatenated. That is what inference does:
the prompt is tokenized alone and the model continues from its last token, so the target's
first token must be the first token the model would generate. For SmolLM2's ChatML template
it is also what tokenizing the whole string gives (the prompt ends in a newline, and the
byte-level pre-tokenizer never joins a newline to the text after it), which the tests check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hanlin.llm.chat_model import ChatOptions, ToolSpec
from hanlin.llm.local_prompt import template_dicts, to_template_messages
from hanlin.llm.messages import AssistantMessage, Message, SystemMessage, ToolMessage

IGNORE_INDEX = -100  # the label PyTorch's cross-entropy skips
_PROBE = "HANLIN-END-OF-TURN-PROBE"


class EncodingError(ValueError):
    """A sample that cannot be encoded as asked (too long, or a template hanlin cannot read)."""


@dataclass(frozen=True)
class EncodedSample:
    """Token ids and labels of one sample, plus where the target's tokens sit in its text.

    ``target_offsets[j]`` is the character span, in ``target_text``, of the token at
    position ``target_start + j``: it is how a tool name in the target is found as tokens.
    ``prompt_text`` is the prompt after dropping messages, before any token-level cut.
    """

    input_ids: list[int]
    labels: list[int]
    target_start: int
    target_text: str
    target_offsets: list[tuple[int, int]]
    dropped_messages: int = 0
    dropped_prompt_tokens: int = 0
    prompt_text: str = field(default="", repr=False)

    @property
    def target_length(self) -> int:
        return len(self.input_ids) - self.target_start

    def positions_covering(self, start: int, end: int) -> list[int]:
        """Positions (in ``input_ids``) of the target tokens overlapping characters
        ``[start, end)`` of ``target_text``."""
        return [
            self.target_start + j
            for j, (lo, hi) in enumerate(self.target_offsets)
            if lo < end and hi > start
        ]


def end_of_turn_marker(tokenizer: Any) -> str:
    """The text the chat template closes an assistant turn with (``<|im_end|>`` in ChatML).

    Found by rendering a probe conversation, so any template works. Whitespace the template
    puts after the marker separates turns; the model stops at the marker, so it is left out.
    """
    user = [{"role": "user", "content": "probe"}]
    prompt = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(
        user + [{"role": "assistant", "content": _PROBE}], tokenize=False
    )
    if not full.startswith(prompt + _PROBE):
        raise EncodingError(
            "the chat template does not render an assistant turn as the generation prompt "
            "followed by the turn's text, so the training target cannot be derived from it"
        )
    marker = full[len(prompt) + len(_PROBE) :].rstrip()
    if not marker:
        raise EncodingError("the chat template ends an assistant turn with no marker to learn")
    return marker


def render_turn(target: AssistantMessage) -> str:
    """The assistant turn's text as inference renders it (prose, then ``<tool_call>`` blocks)."""
    turns = to_template_messages([target], [], ChatOptions())
    return turns[0].content if turns else ""


def target_text(tokenizer: Any, target: AssistantMessage) -> str:
    return render_turn(target) + end_of_turn_marker(tokenizer)


def prompt_text(tokenizer: Any, tools: Sequence[ToolSpec], context: Sequence[Message]) -> str:
    """The prompt a local backend sends for ``context`` with ``tools`` offered."""
    turns = template_dicts(to_template_messages(list(context), list(tools), ChatOptions()))
    return tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)


def prompt_ids(tokenizer: Any, tools: Sequence[ToolSpec], context: Sequence[Message]) -> list[int]:
    """Prompt token ids for generation, tokenized as the transformers backend does."""
    text = prompt_text(tokenizer, tools, context)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode_sample(
    tokenizer: Any,
    tools: Sequence[ToolSpec],
    context: Sequence[Message],
    target: AssistantMessage,
    *,
    max_length: int | None = None,
) -> EncodedSample:
    """Ids and labels (``-100`` on the prompt) for learning ``target`` after ``context``.

    Past ``max_length`` the context is shortened from the left: first whole messages (the
    oldest non-system message, with the tool results that answer it), and only if the
    system prompt and tools alone are still too long, prompt tokens from the start. The
    target is never cut; a target that leaves no room for any prompt is an error.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise EncodingError("encoding needs a fast tokenizer: it reads token offsets")
    text = target_text(tokenizer, target)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    target_ids = list(encoded["input_ids"])
    offsets = [(int(lo), int(hi)) for lo, hi in encoded["offset_mapping"]]
    if max_length is not None and len(target_ids) + 1 > max_length:
        raise EncodingError(
            f"the target alone is {len(target_ids)} tokens, and max_length={max_length} "
            "leaves no room for the prompt it answers; raise max_length or drop the sample"
        )
    remaining = list(context)
    dropped = 0
    prompt = prompt_text(tokenizer, tools, remaining)
    ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    while max_length is not None and len(ids) + len(target_ids) > max_length:
        remaining, count = _drop_oldest(remaining)
        if not count:
            break
        dropped += count
        prompt = prompt_text(tokenizer, tools, remaining)
        ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    cut = 0
    if max_length is not None and len(ids) + len(target_ids) > max_length:
        cut = len(ids) + len(target_ids) - max_length
        ids = ids[cut:]
    return EncodedSample(
        input_ids=ids + target_ids,
        labels=[IGNORE_INDEX] * len(ids) + target_ids,
        target_start=len(ids),
        target_text=text,
        target_offsets=offsets,
        dropped_messages=dropped,
        dropped_prompt_tokens=cut,
        prompt_text=prompt,
    )


def _drop_oldest(context: list[Message]) -> tuple[list[Message], int]:
    """Without the oldest non-system message and the tool results right after it."""
    index = next((i for i, m in enumerate(context) if not isinstance(m, SystemMessage)), None)
    if index is None:
        return context, 0
    end = index + 1
    while end < len(context) and isinstance(context[end], ToolMessage):
        end += 1
    return context[:index] + context[end:], end - index
