"""Short-term memory: token budget, folding into a summary, tool rounds kept whole, zh and en."""

from __future__ import annotations

import pytest

from hanlin.llm.chat_model import ChatOptions, ModelError
from hanlin.llm.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from hanlin.llm.scripted import ScriptedModel
from hanlin.memory.prompts import (
    SUMMARIZER_ROLE,
    conversation_fold_prompt,
    render_transcript,
)
from hanlin.memory.short_term import (
    EstimatedTokenCounter,
    ShortTermFoldError,
    ShortTermMemory,
    ShortTermOverflow,
    ShortTermState,
)

ENGLISH = [
    "My name is Ana and I live in Lisbon with my two cats.",
    "I work as a nurse on night shifts at the city hospital.",
    "Next month I am flying to Tokyo to visit my brother Kenji.",
    "I have been learning Japanese for about eight months now.",
    "My favourite dish is grilled sardines with roasted peppers.",
    "Could you help me plan three days in Kyoto after Tokyo?",
]
CHINESE = [
    "我叫李雷，住在杭州，养了一只叫豆豆的狗。",
    "我在一家软件公司做后端开发，平时用Go语言。",
    "下个月我要去成都参加朋友的婚礼。",
    "我最近在学做川菜，麻婆豆腐已经做得不错了。",
    "周末我喜欢去西湖边跑步，一般跑十公里。",
    "你能帮我推荐几家成都的火锅店吗？",
]


def conversation(lines: list[str], reply: str) -> list[Message]:
    messages: list[Message] = []
    for i, line in enumerate(lines):
        messages += [UserMessage(content=line), AssistantMessage(content=f"{reply} {i}")]
    return messages


def tool_round(call_ids: list[str], result: str) -> list[Message]:
    calls = [ToolCall(id=c, name="weather", arguments={"city": "Lisbon"}) for c in call_ids]
    return [
        AssistantMessage(tool_calls=calls),
        *(ToolMessage(tool_call_id=c, name="weather", content=result) for c in call_ids),
    ]


def test_estimate_counts_cjk_per_character_and_latin_per_word_piece() -> None:
    counter = EstimatedTokenCounter()
    assert counter.count("") == 0
    assert counter.count("hello") == 2  # 5 letters, 4 per token
    assert counter.count("cat dog") == 2  # a leading space rides with its word
    assert counter.count("我爱你") == 6  # two per CJK character by default
    assert EstimatedTokenCounter(wide_char_tokens=1.0).count("我爱你") == 3
    assert counter.count("ねこ、한국") == 10  # kana, CJK punctuation and Hangul are wide too
    assert counter.count("2024") == 4  # one per digit
    assert counter.count("a→b") == 4  # non-ASCII symbols count two
    with pytest.raises(ValueError, match="wide_char_tokens"):
        EstimatedTokenCounter(wide_char_tokens=0)


async def test_folds_oldest_exchanges_and_keeps_the_recent_ones_verbatim() -> None:
    model = ScriptedModel(
        ["Ana, a night-shift nurse in Lisbon with two cats, visits Kenji in Tokyo."]
    )
    memory = ShortTermMemory(model, max_tokens=200, counter=EstimatedTokenCounter())
    messages = conversation(ENGLISH, "Noted, thank you for telling me.")
    folds = []
    for message in messages:
        new = await memory.add(message)
        if new:  # right after a fold the verbatim part takes at most fold_to of its room
            verbatim = sum(memory.message_tokens(m) for m in memory.messages)
            assert verbatim <= 0.6 * memory.message_room
        folds += new
        assert memory.tokens <= memory.max_tokens

    assert len(folds) == 1 and len(model.calls) == 1
    fold = folds[0]
    cut = len(fold.folded)
    assert fold.folded == messages[:cut] and memory.messages == messages[cut:]
    assert memory.folded_count == cut and cut % 2 == 0  # whole user/assistant exchanges
    assert fold.tokens_before > 200 >= fold.tokens_after
    # The model was asked exactly this: the summarizer's role, then the fold prompt.
    expected_prompt = conversation_fold_prompt(
        "", render_transcript(messages[:cut], "en"), language="en"
    )
    assert model.calls[0] == [
        SystemMessage(content=SUMMARIZER_ROLE["en"]),
        UserMessage(content=expected_prompt),
    ]
    assert "User: My name is Ana" in expected_prompt and "Assistant: Noted" in expected_prompt
    window = memory.window()
    assert window[0] == SystemMessage(
        content="Summary of the earlier part of this conversation:\n" + fold.summary
    )
    assert window[1:] == messages[cut:]


async def test_second_fold_extends_the_previous_summary() -> None:
    model = ScriptedModel(["first summary", "second summary"])
    memory = ShortTermMemory(model, max_tokens=120, counter=EstimatedTokenCounter())
    for message in conversation(ENGLISH, "Okay."):
        await memory.add(message)
    assert len(model.calls) == 2
    second_prompt = model.calls[1][1].content
    assert isinstance(second_prompt, str)
    assert second_prompt.startswith("Update the running summary")
    assert "Summary so far:\nfirst summary\n" in second_prompt
    assert memory.summary == "second summary" and memory.tokens <= 120


async def test_chinese_conversation_folds_with_chinese_prompt() -> None:
    model = ScriptedModel(["李雷住在杭州，做后端开发，下个月去成都参加婚礼。", "第二次摘要"])
    memory = ShortTermMemory(model, max_tokens=300, counter=EstimatedTokenCounter(), language="zh")
    messages = conversation(CHINESE, "好的，我记住了。")
    folds = []
    for message in messages:
        folds += await memory.add(message)
        assert memory.tokens <= 300
    assert len(model.calls) == len(folds) >= 1
    system, prompt = model.calls[0]
    assert system == SystemMessage(content=SUMMARIZER_ROLE["zh"])
    cut = len(folds[0].folded)
    assert prompt.content == conversation_fold_prompt(
        "", render_transcript(messages[:cut], "zh"), language="zh"
    )
    assert "用户：我叫李雷" in prompt.content and "助手：好的，我记住了。 0" in prompt.content
    assert "目前的摘要：\n（暂无）" in prompt.content
    assert memory.summary_section().startswith("本次对话较早部分的摘要：\n")
    assert memory.messages == messages[memory.folded_count :]


async def test_a_tool_call_is_never_separated_from_its_results() -> None:
    model = ScriptedModel([f"summary {i}" for i in range(10)])
    memory = ShortTermMemory(model, max_tokens=150, counter=EstimatedTokenCounter())
    script: list[Message] = [UserMessage(content="What is the weather in Lisbon and Porto today?")]
    script += tool_round(["c1", "c2"], "Sunny, 24 degrees, light wind from the north-west.")
    script += [
        AssistantMessage(content="Both cities are sunny today, around 24 degrees."),
        UserMessage(content="And tomorrow?"),
    ]
    script += tool_round(["c3"], "Cloudy, 19 degrees, rain expected in the evening hours.")
    script += [AssistantMessage(content="Tomorrow turns cloudy with evening rain.")]
    folds = []
    for message in script:
        folds += await memory.add(message)
    assert folds, "the budget forces at least one fold"
    for fold in folds:
        calls = {c.id for m in fold.folded if isinstance(m, AssistantMessage) for c in m.tool_calls}
        results = {m.tool_call_id for m in fold.folded if isinstance(m, ToolMessage)}
        assert calls == results  # every folded call has its results folded with it
    assert not isinstance(memory.messages[0], ToolMessage)
    kept_calls = {
        c.id for m in memory.messages if isinstance(m, AssistantMessage) for c in m.tool_calls
    }
    kept_results = {m.tool_call_id for m in memory.messages if isinstance(m, ToolMessage)}
    assert kept_calls == kept_results
    folded_text = "\n".join(m.content for call in model.calls for m in call[1:])
    assert 'Assistant called weather({"city": "Lisbon"}) [c1]' in folded_text
    assert "Result of weather [c1]: Sunny" in folded_text


async def test_open_tool_round_larger_than_the_room_stays_whole() -> None:
    model = ScriptedModel(["the user asked about the weather", "both cities are sunny"])
    memory = ShortTermMemory(model, max_tokens=160, counter=EstimatedTokenCounter())
    await memory.add(UserMessage(content="Weather in two cities please."))
    round_ = tool_round(["c0", "c1"], "Sunny and warm, twenty-four degrees.")
    assert sum(memory.message_tokens(m) for m in round_) > memory.message_room
    await memory.add(*round_)
    # Everything before the round was folded; the round itself cannot be split.
    assert memory.messages == round_ and memory.over_budget
    assert memory.folded_count == 1
    # Once the round is closed by the next message, it can be folded as a whole.
    folds = await memory.add(AssistantMessage(content="All sunny."))
    assert [f.folded for f in folds] == [round_]
    assert memory.messages == [AssistantMessage(content="All sunny.")] and not memory.over_budget


async def test_model_failure_folds_nothing_and_the_next_add_retries() -> None:
    messages = conversation(ENGLISH, "Noted.")
    failing = ScriptedModel([])
    memory = ShortTermMemory(failing, max_tokens=120, counter=EstimatedTokenCounter())
    with pytest.raises(ModelError, match="script exhausted"):
        for message in messages:
            await memory.add(message)
    assert memory.messages == messages[: len(memory.messages)] and memory.summary == ""
    assert memory.folded_count == 0 and memory.over_budget
    kept = len(memory.messages)
    memory.model = ScriptedModel(["recovered summary"])
    await memory.add(*messages[kept:])
    assert memory.summary == "recovered summary" and not memory.over_budget
    assert memory.messages + [] == messages[memory.folded_count :]


async def test_empty_summary_is_refused_and_nothing_is_folded() -> None:
    memory = ShortTermMemory(
        ScriptedModel(["   "]), max_tokens=120, counter=EstimatedTokenCounter()
    )
    messages = conversation(ENGLISH, "Noted.")
    with pytest.raises(ShortTermFoldError, match="empty summary"):
        for message in messages:
            await memory.add(message)
    assert memory.summary == "" and memory.folded_count == 0
    assert memory.messages == messages[: len(memory.messages)]


async def test_bad_input_is_rejected_with_a_reason() -> None:
    memory = ShortTermMemory(ScriptedModel([]), max_tokens=300, counter=EstimatedTokenCounter())
    with pytest.raises(ShortTermOverflow, match="cannot fit the window"):
        await memory.add(UserMessage(content="word " * 400))
    assert memory.messages == []
    with pytest.raises(ValueError, match="system messages are not part"):
        await memory.add(SystemMessage(content="be nice"))
    with pytest.raises(ValueError, match="does not answer an open call"):
        await memory.add(ToolMessage(tool_call_id="nope", name="weather", content="?"))
    with pytest.raises(ValueError, match="does not answer an open call"):  # all or nothing
        await memory.add(
            UserMessage(content="hi"), ToolMessage(tool_call_id="nope", name="weather", content="?")
        )
    assert memory.messages == []
    await memory.add(*tool_round(["c1"], "ok"))
    with pytest.raises(ValueError, match="once each"):
        await memory.add(ToolMessage(tool_call_id="c1", name="weather", content="again"))
    await memory.add(UserMessage(content="thanks"))
    with pytest.raises(ValueError, match="latest assistant message"):
        await memory.add(ToolMessage(tool_call_id="c1", name="weather", content="late"))
    with pytest.raises(ValueError, match="must leave room"):
        ShortTermMemory(ScriptedModel([]), max_tokens=10, summary_max_tokens=10)
    with pytest.raises(ValueError, match="unsupported memory language"):
        ShortTermMemory(ScriptedModel([]), max_tokens=100, language="fr")  # type: ignore[arg-type]


async def test_state_round_trips_through_json() -> None:
    model = ScriptedModel(["kept summary"] * 5)
    memory = ShortTermMemory(model, max_tokens=150, counter=EstimatedTokenCounter())
    for message in conversation(ENGLISH, "Noted.") + tool_round(["c9"], "done"):
        await memory.add(message)
    state = ShortTermState.model_validate_json(memory.state().model_dump_json())
    restored = ShortTermMemory(model, max_tokens=150, counter=EstimatedTokenCounter(), state=state)
    assert restored.window() == memory.window() and restored.tokens == memory.tokens
    assert restored.folded_count == memory.folded_count


@pytest.mark.local_model
async def test_budget_holds_under_the_local_models_own_tokenizer() -> None:
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python (pip install 'hanlin[local]')")
    from hanlin.llm.local_model import LocalModel
    from hanlin.memory.short_term import LocalModelTokenCounter, token_counter_for

    local = LocalModel(n_threads=2, n_ctx=2048)  # shares the load with other tests
    counter = token_counter_for(local)
    assert isinstance(counter, LocalModelTokenCounter)
    llama = local.load().llama
    for lines in (ENGLISH, CHINESE):
        exact = [len(llama.tokenize(t.encode(), add_bos=False, special=True)) for t in lines]
        assert [counter.count(t) for t in lines] == exact
        # The fallback errs high over a conversation (a rare character may cost 3 tokens).
        assert sum(EstimatedTokenCounter().count(t) for t in lines) >= sum(exact)
    assert counter.count("<|im_start|>") == 1  # special tokens count as the model sees them

    # The window's share of the prompt the model really receives stays within the budget.
    system = SystemMessage(content="You are a caring companion.")
    only_system = await local.chat([system], options=ChatOptions(max_tokens=1))
    for lines, language in ((ENGLISH, "en"), (CHINESE, "zh")):
        summary = "Ana lives in Lisbon." if language == "en" else "李雷住在杭州。"
        memory = ShortTermMemory(
            ScriptedModel([summary] * 10), max_tokens=200, counter=counter, language=language
        )
        messages = [
            *conversation(lines[:3], "OK"),
            UserMessage(content=lines[3]),
            *tool_round(["c1", "c2"], "Sunny, 24 degrees."),
            *conversation(lines[4:], "好的" if language == "zh" else "Sure"),
        ]
        for message in messages:
            await memory.add(message)
            assert memory.tokens <= 200
        assert memory.folded_count > 0 and memory.messages == messages[memory.folded_count :]
        sent = await local.chat([system, *memory.window()], options=ChatOptions(max_tokens=1))
        window_share = sent.usage.prompt_tokens - only_system.usage.prompt_tokens
        assert 0.8 * memory.tokens <= window_share <= memory.tokens
