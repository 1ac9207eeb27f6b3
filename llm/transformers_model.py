"""An in-process backend on PyTorch + transformers, for Hugging Face model folders.

It runs what llama.cpp cannot: a freshly fine-tuned checkpoint straight out of training,
before any GGUF conversion. It also reads GGUF files (dequantized to float32 through the
``gguf`` package). torch and transformers are imported only when a model is first loaded,
so hanlin does not need them unless this backend is used.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from hanlin.llm.in_process import InProcessChatModel
from hanlin.llm.local_prompt import (
    CHATML_TEMPLATE,
    build_result,
    stop_strings,
)
from hanlin.llm.messages import Message
from hanlin.llm.model_files import ResolvedModel, resolve_model_path
from hanlin.llm.similarity_gate import SimilarityGate
from hanlin.llm.tool_similarity import ToolSimilarity, shared_tool_similarity

INSTALL_HINT = (
    "TransformersModel needs torch and transformers (and gguf for .gguf files): "
    "pip install 'hanlin[train]'"
)


@dataclass
class LoadedTransformers:
    model: Any
    tokenizer: Any
    lock: threading.Lock


_loaded: dict[str, LoadedTransformers] = {}
_loading_lock = threading.Lock()


def read_local_weights(resolved: ResolvedModel) -> tuple[Any, Any]:
    """(model, tokenizer) from a GGUF file (dequantized) or a Hugging Face folder, in float32,
    never from the network; the tokenizer gets ChatML when the files carry no template.
    Raises ImportError without torch/transformers, OSError or ValueError for bad files."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    where: dict[str, Any] = {"local_files_only": True}
    folder = resolved.path
    if resolved.kind == "gguf":
        where["gguf_file"] = resolved.path.name
        folder = resolved.path.parent
    tokenizer = AutoTokenizer.from_pretrained(str(folder), **where)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, **where)
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHATML_TEMPLATE
    return model, tokenizer


def load_transformers(resolved: ResolvedModel) -> LoadedTransformers:
    """Load once per process; never reaches the network (``local_files_only``)."""
    key = str(resolved.path)
    with _loading_lock:
        if key in _loaded:
            return _loaded[key]
        try:
            model, tokenizer = read_local_weights(resolved)
        except ImportError as exc:
            raise ModelError(f"{INSTALL_HINT} ({exc})") from exc
        except (OSError, ValueError) as exc:
            raise ModelError(f"transformers could not load {resolved.path}: {exc}") from exc
        model.eval()
        loaded = LoadedTransformers(model=model, tokenizer=tokenizer, lock=threading.Lock())
        _loaded[key] = loaded
        return loaded


class StopStringFilter:
    """Streams text while holding back anything that could still become a stop string."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.text = ""
        self.sent = 0
        self.stopped = False

    def feed(self, piece: str) -> str:
        """The newly safe text after ``piece`` arrives ("" once a stop string was seen)."""
        if self.stopped:
            return ""
        self.text += piece
        hits = [self.text.find(s, self.sent) for s in self.stops]
        hits = [h for h in hits if h >= 0]
        if hits:
            self.stopped = True
            self.text = self.text[: min(hits)]
            return self._release(len(self.text))
        held = max((self._partial(s) for s in self.stops), default=0)
        return self._release(len(self.text) - held)

    def flush(self) -> str:
        return self._release(len(self.text))

    def _partial(self, stop: str) -> int:
        for size in range(min(len(stop) - 1, len(self.text)), 0, -1):
            if self.text.endswith(stop[:size]):
                return size
        return 0

    def _release(self, upto: int) -> str:
        upto = max(upto, self.sent)
        out, self.sent = self.text[self.sent : upto], upto
        return out


class TransformersModel(InProcessChatModel):
    """A chat model from a local Hugging Face folder (or GGUF file), run on CPU.

    ``n_threads`` sets torch's intra-op threads for the whole process. JSON-schema
    constrained output needs a grammar and is only offered by ``LocalModel``. Under
    ``tool_choice="auto"`` the model decides itself (``tool_decision="free"``, the default),
    or, with ``tool_decision="similarity"``, is offered only the tool the question is about,
    or none (``hanlin.llm.similarity_gate``); other decisions need llama.cpp and act as free.
    """

    def __init__(
        self,
        path_or_folder: str | None = None,
        *,
        n_threads: int | None = None,
        name: str | None = None,
        seed: int = 0,
        tool_decision: ToolDecision = "free",
        tool_similarity: ToolSimilarity | None = None,
    ) -> None:
        self.resolved = resolve_model_path(path_or_folder)
        self.n_threads = n_threads
        self.seed = seed
        self.name = name or f"transformers:{Path(self.resolved.path).stem}"
        ranker = (lambda: tool_similarity) if tool_similarity else shared_tool_similarity
        self._gate = SimilarityGate(tool_decision, ranker)

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]:
        options = options or ChatOptions()
        offered = await asyncio.to_thread(self._gate.offered, messages, tools, options)
        async for item in super().stream(messages, tools=offered, options=options):
            yield item

    def load(self) -> LoadedTransformers:
        loaded = load_transformers(self.resolved)
        if self.n_threads is not None:
            import torch

            torch.set_num_threads(self.n_threads)
        return loaded

    def _check_options(self, options: ChatOptions) -> None:
        if options.json_schema is not None:
            raise ModelInputError(
                f"{self.name}: JSON-schema constrained output needs a grammar; use LocalModel "
                "(llama.cpp) with a GGUF file for it",
                param="response_format",
            )

    def _run_locked(
        self,
        loaded: LoadedTransformers,
        turns: list[dict[str, str]],
        tools: list[ToolSpec],
        options: ChatOptions,
        emit: Callable[[StreamItem | BaseException], None],
        cancelled: threading.Event,
    ) -> Completed:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool)

        tokenizer = loaded.tokenizer
        prompt = tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        prompt_tokens = int(inputs["input_ids"].shape[1])
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling = options.temperature > 0
        if sampling:
            torch.manual_seed(options.seed if options.seed is not None else self.seed)
        settings: dict[str, Any] = {
            **inputs,
            "max_new_tokens": options.max_tokens,
            "do_sample": sampling,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([Cancelled()]),
            "pad_token_id": tokenizer.pad_token_id or tokenizer.eos_token_id,
        }
        if sampling:
            settings["temperature"] = options.temperature
        stop = stop_strings(options, tools)
        if stop:
            settings["stop_strings"] = stop
            settings["tokenizer"] = tokenizer
        produced: dict[str, Any] = {}

        def run() -> None:
            try:
                with torch.inference_mode():
                    produced["ids"] = loaded.model.generate(**settings)
            except Exception as exc:  # noqa: BLE001 - re-raised below in the worker
                produced["error"] = exc
                streamer.end()

        generator = threading.Thread(target=run, daemon=True)
        generator.start()
        stops = StopStringFilter(stop)
        for piece in streamer:
            safe = stops.feed(piece)
            if safe:
                emit(TextDelta(text=safe))
        generator.join()
        if "error" in produced:
            raise produced["error"]
        tail = stops.flush()
        if tail:
            emit(TextDelta(text=tail))
        completion_tokens = int(produced["ids"].shape[1]) - prompt_tokens
        finish = (
            "length" if completion_tokens >= options.max_tokens and not stops.stopped else "stop"
        )
        usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        return Completed(result=build_result(stops.text, tools, usage=usage, finish_reason=finish))
