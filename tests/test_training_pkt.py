"""Encoding, prioritized key tokens and the weighted loss, on SmolLM2's real tokenizer."""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import pytest

from hanlin.llm.chat_model import ChatOptions, ToolSpec
from hanlin.llm.local_prompt import template_dicts, to_template_messages
from hanlin.llm.messages import AssistantMessage, Message, ToolCall, ToolMessage, UserMessage
from hanlin.training.data.encoding import (
    IGNORE_INDEX,
    EncodedSample,
    EncodingError,
    encode_sample,
    end_of_turn_marker,
    prompt_ids,
)
from hanlin.training.losses.key_tokens import (
    divergence_index,
    key_token_positions,
    key_weight,
    pkt_weights,
)

HAS_TRAIN = all(importlib.util.find_spec(n) for n in ("torch", "transformers", "gguf"))
pytestmark = pytest.mark.skipif(not HAS_TRAIN, reason="needs torch, transformers and gguf")


def _tool(name: str, parameter: str) -> ToolSpec:
    return ToolSpec(
        name=name,
        description=f"{name.replace('_', ' ')}.",
        parameters={
            "type": "object",
            "properties": {parameter: {"type": "string"}},
            "required": [parameter],
        },
    )


TOOLS = [
    _tool("get_paper_details", "title"),
    _tool("get_papers_by_keywords", "keywords"),
    _tool("get_weather", "city"),
]
QUERY: list[Message] = [UserMessage(content="Who wrote Attention Is All You Need?")]
PAPER_CALL = AssistantMessage(
    tool_calls=[
        ToolCall(
            id="c1", name="get_paper_details", arguments={"title": "Attention Is All You Need"}
        )
    ]
)


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from transformers import AutoTokenizer

    from hanlin.llm.model_files import ModelFileError, default_gguf_path

    try:
        path = default_gguf_path()
    except ModelFileError as exc:
        pytest.skip(str(exc))
    return AutoTokenizer.from_pretrained(
        str(path.parent), gguf_file=path.name, local_files_only=True
    )


def _pieces(tokenizer: Any, ids: list[int]) -> list[str]:
    return [tokenizer.decode([i]) for i in ids]


def _long_context() -> list[Message]:
    messages: list[Message] = list(QUERY)
    for step in range(6):
        call = ToolCall(id=f"w{step}", name="get_weather", arguments={"city": f"City {step}"})
        messages.append(AssistantMessage(content="Checking.", tool_calls=[call]))
        messages.append(
            ToolMessage(tool_call_id=call.id, name="get_weather", content="sunny, 21 C " * 8)
        )
    return messages


# --- encoding ---------------------------------------------------------------------------


def test_end_of_turn_marker_is_read_from_the_template(tokenizer: Any) -> None:
    assert end_of_turn_marker(tokenizer) == "<|im_end|>"


def test_labels_mask_the_prompt_and_the_target_decodes_to_the_rendered_turn(
    tokenizer: Any,
) -> None:
    encoded = encode_sample(tokenizer, TOOLS, QUERY, PAPER_CALL)
    start = encoded.target_start
    assert encoded.labels[:start] == [IGNORE_INDEX] * start
    assert encoded.labels[start:] == encoded.input_ids[start:]
    assert encoded.target_text == (
        '<tool_call>\n{"name": "get_paper_details", "arguments": '
        '{"title": "Attention Is All You Need"}}\n</tool_call><|im_end|>'
    )
    assert tokenizer.decode(encoded.input_ids[start:]) == encoded.target_text
    assert encoded.input_ids[:start] == prompt_ids(tokenizer, TOOLS, QUERY)
    assert tokenizer.decode(encoded.input_ids[:start]).endswith("<|im_start|>assistant\n")


def test_separate_tokenization_equals_the_whole_conversation(tokenizer: Any) -> None:
    context = _long_context()[:3]
    target = AssistantMessage(
        content="It is sunny there.",
        tool_calls=[ToolCall(id="p", name="get_paper_details", arguments={"title": "Weather"})],
    )
    encoded = encode_sample(tokenizer, TOOLS, context, target)
    whole = encoded.prompt_text + encoded.target_text
    assert tokenizer(whole, add_special_tokens=False)["input_ids"] == encoded.input_ids
    turns = template_dicts(to_template_messages([*context, target], TOOLS, ChatOptions()))
    assert tokenizer.apply_chat_template(turns, tokenize=False).startswith(whole)


def test_truncation_drops_old_messages_then_prompt_tokens_never_the_target(
    tokenizer: Any,
) -> None:
    context = _long_context()
    full = encode_sample(tokenizer, TOOLS, context, PAPER_CALL)
    target_ids = full.input_ids[full.target_start :]
    limit = len(full.input_ids) - 60
    shorter = encode_sample(tokenizer, TOOLS, context, PAPER_CALL, max_length=limit)
    assert len(shorter.input_ids) <= limit and shorter.dropped_messages >= 2
    assert shorter.dropped_prompt_tokens == 0
    assert shorter.input_ids[shorter.target_start :] == target_ids
    assert "<|im_start|>system" in tokenizer.decode(shorter.input_ids)  # tools kept
    tight = encode_sample(tokenizer, TOOLS, context, PAPER_CALL, max_length=len(target_ids) + 5)
    assert len(tight.input_ids) == len(target_ids) + 5 and tight.dropped_prompt_tokens > 0
    assert tight.labels[5:] == target_ids and tight.labels[:5] == [IGNORE_INDEX] * 5
    with pytest.raises(EncodingError, match="target alone is 37 tokens"):
        encode_sample(tokenizer, TOOLS, context, PAPER_CALL, max_length=37)


# --- key tokens -------------------------------------------------------------------------


def test_worked_example_key_tokens_of_get_paper_details(tokenizer: Any) -> None:
    encoded = encode_sample(tokenizer, TOOLS, QUERY, PAPER_CALL)
    target = encoded.input_ids[encoded.target_start :]
    assert _pieces(tokenizer, target)[:16] == [
        "<", "tool", "_", "call", ">", "\n", '{"', "name", '":', ' "',
        "get", "_", "paper", "_", "details", '",',
    ]  # fmt: skip
    keys = key_token_positions(encoded, PAPER_CALL, TOOLS, tokenizer)
    # "get" starts the name; both other tools share "get _" and part at token 2: "paper"
    assert _pieces(tokenizer, [encoded.input_ids[p] for p in keys]) == ["get", "paper"]
    assert [p - encoded.target_start for p in keys] == [10, 12]
    assert encoded.target_length == 37  # |K| = 2, |NK| = 35, ratio 17.5
    weights = pkt_weights(encoded, keys)
    assert weights[: encoded.target_start] == [0.0] * encoded.target_start
    assert [weights[p] for p in keys] == [9.0, 9.0]  # clipped at w_max
    assert sum(weights) == 35 + 2 * 9.0
    assert [pkt_weights(encoded, keys, w_max=20.0)[p] for p in keys] == [17.5, 17.5]


def test_name_scope_makes_every_token_of_the_name_key(tokenizer: Any) -> None:
    encoded = encode_sample(tokenizer, TOOLS, QUERY, PAPER_CALL)
    keys = key_token_positions(encoded, PAPER_CALL, TOOLS, tokenizer, scope="name")
    assert _pieces(tokenizer, [encoded.input_ids[p] for p in keys]) == [
        "get",
        "_",
        "paper",
        "_",
        "details",
    ]
    assert [p - encoded.target_start for p in keys] == [10, 11, 12, 13, 14]
    weights = pkt_weights(encoded, keys)
    assert [weights[p] for p in keys] == [32 / 5] * 5  # |NK| = 37 - 5, below w_max


def test_divergence_follows_token_prefixes_both_ways(tokenizer: Any) -> None:
    tools = [*TOOLS, _tool("get_paper", "title"), _tool("search_web", "query")]
    encoded = encode_sample(tokenizer, tools, QUERY, PAPER_CALL)
    keys = key_token_positions(encoded, PAPER_CALL, tools, tokenizer)
    # get_paper is a whole prefix: get_paper_details parts from it at the second "_"
    assert [p - encoded.target_start for p in keys] == [10, 12, 13]
    short = AssistantMessage(
        tool_calls=[ToolCall(id="s", name="get_paper", arguments={"title": "x"})]
    )
    encoded = encode_sample(tokenizer, tools, QUERY, short)
    keys = key_token_positions(encoded, short, tools, tokenizer)
    # the prefix itself has nothing left to part at; only the other names add "paper"
    assert _pieces(tokenizer, [encoded.input_ids[p] for p in keys]) == ["get", "paper"]
    assert divergence_index([1, 2, 3], [1, 2, 4]) == 2
    assert divergence_index([1, 2], [1, 2, 3]) is None
    assert divergence_index([1, 2, 3], [1, 2, 3]) is None
    assert divergence_index([5, 2], [1, 2]) is None


def test_several_calls_share_one_weight_and_a_direct_answer_has_no_key(tokenizer: Any) -> None:
    target = AssistantMessage(
        content="Let me look.",
        tool_calls=[
            ToolCall(id="a", name="get_weather", arguments={"city": "Paris"}),
            ToolCall(id="b", name="get_paper_details", arguments={"title": "X"}),
        ],
    )
    encoded = encode_sample(tokenizer, TOOLS, QUERY, target)
    keys = key_token_positions(encoded, target, TOOLS, tokenizer)
    pieces = _pieces(tokenizer, [encoded.input_ids[p] for p in keys])
    assert pieces == ["get", "weather", "get", "paper"]
    ratio = (encoded.target_length - 4) / 4
    assert ratio > 9 and {pkt_weights(encoded, keys, w_max=100.0)[p] for p in keys} == {ratio}
    answer = AssistantMessage(content="Vaswani et al.")
    encoded = encode_sample(tokenizer, TOOLS, QUERY, answer)
    assert key_token_positions(encoded, answer, TOOLS, tokenizer) == []
    weights = pkt_weights(encoded, [])
    assert weights[encoded.target_start :] == [1.0] * encoded.target_length
    with pytest.raises(ValueError, match="different assistant turn"):
        key_token_positions(encoded, PAPER_CALL, TOOLS, tokenizer)


def test_decision_key_weighs_the_choice_between_a_call_and_words(tokenizer: Any) -> None:
    encoded = encode_sample(tokenizer, TOOLS, QUERY, PAPER_CALL)
    keys = key_token_positions(encoded, PAPER_CALL, TOOLS, tokenizer, decision=True)
    # the call's opening "<" joins the name's keys "get" and "paper"
    assert [p - encoded.target_start for p in keys] == [0, 10, 12]
    assert _pieces(tokenizer, [encoded.input_ids[keys[0]]]) == ["<"]
    answer = AssistantMessage(content="Vaswani et al.")
    encoded = encode_sample(tokenizer, TOOLS, QUERY, answer)
    keys = key_token_positions(encoded, answer, TOOLS, tokenizer, decision=True)
    assert keys == [encoded.target_start]  # a direct answer's first word is its one key
    weights = pkt_weights(encoded, keys)
    assert weights[encoded.target_start] == min(encoded.target_length - 1, 9.0) > 1.0
    # with no tool offered there is no choice to make, so nothing is key
    encoded = encode_sample(tokenizer, [], QUERY, answer)
    assert key_token_positions(encoded, answer, [], tokenizer, decision=True) == []


def test_decision_key_marks_the_call_after_words_and_combines_with_name_scope(
    tokenizer: Any,
) -> None:
    target = AssistantMessage(
        content="Let me look.",
        tool_calls=[ToolCall(id="a", name="get_weather", arguments={"city": "Paris"})],
    )
    encoded = encode_sample(tokenizer, TOOLS, QUERY, target)
    keys = key_token_positions(encoded, target, TOOLS, tokenizer, scope="name", decision=True)
    pieces = _pieces(tokenizer, [encoded.input_ids[p] for p in keys])
    # "Let" opens the turn, "<" opens the call after the words, then the whole name
    assert pieces == ["Let", "<", "get", "_", "weather"]
    plain = key_token_positions(encoded, target, TOOLS, tokenizer, scope="name")
    assert set(plain) < set(keys) and len(keys) - len(plain) == 2


def test_weight_is_clipped_at_one_when_keys_outnumber_the_rest() -> None:
    assert key_weight(3, 2) == 1.0 and key_weight(2, 6) == 3.0 and key_weight(1, 50) == 9.0
    sample = EncodedSample(
        input_ids=[7, 8, 9, 10, 11],
        labels=[IGNORE_INDEX, IGNORE_INDEX, 9, 10, 11],
        target_start=2,
        target_text="abc",
        target_offsets=[(0, 1), (1, 2), (2, 3)],
    )
    assert pkt_weights(sample, [2, 3]) == [0.0, 0.0, 1.0, 1.0, 1.0]  # |NK|/|K| = 1/2
    assert pkt_weights(sample, [2]) == [0.0, 0.0, 2.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="not target positions"):
        pkt_weights(sample, [1])


# --- weighted loss ----------------------------------------------------------------------


def test_weighted_loss_matches_a_hand_computed_weighted_mean() -> None:
    import torch

    from hanlin.training.losses.weighted_loss import weighted_token_loss

    logits = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]]])
    labels = torch.tensor([[IGNORE_INDEX, 1, 2, 0]])
    weights = torch.tensor([[0.0, 9.0, 1.0, 1.0]])

    def ce(row: list[float], gold: int) -> float:
        return -row[gold] + math.log(sum(math.exp(v) for v in row))

    # label t is predicted by the logits at t - 1
    by_hand = (9 * ce([2, 0, 0], 1) + ce([0, 1, 0], 2) + ce([0, 0, 3], 0)) / 11
    assert weighted_token_loss(logits, labels, weights).item() == pytest.approx(by_hand, rel=1e-6)


def test_unit_weights_give_the_standard_loss_on_a_padded_batch() -> None:
    import torch
    import torch.nn.functional as F

    from hanlin.training.losses.weighted_loss import pad_batch, weighted_token_loss

    torch.manual_seed(0)
    labels = torch.tensor(
        pad_batch([[IGNORE_INDEX, IGNORE_INDEX, 4, 1, 3], [IGNORE_INDEX, 2, 0]], IGNORE_INDEX)
    )
    weights = torch.tensor(pad_batch([[0, 0, 1, 1, 1], [0, 1, 1]], 0.0))
    logits = torch.randn(2, 5, 6)
    expected = F.cross_entropy(
        logits[:, :-1].reshape(-1, 6), labels[:, 1:].reshape(-1), ignore_index=IGNORE_INDEX
    )
    got = weighted_token_loss(logits, labels, weights)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match="no target token"):
        weighted_token_loss(logits, labels, torch.zeros(2, 5))
