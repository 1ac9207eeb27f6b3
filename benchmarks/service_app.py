"""The workload of ``service.py``: a ReAct agent on a loopback model with a fixed latency.

Every run makes three model calls and one tool call: the model calls ``lookup``, then replies
with nothing (it only thinks, so the ReAct loop asks it again), then answers from the tool's
result. The model is served over HTTP by hanlin's OpenAI-compatible server in its own process
(``python benchmarks/service_app.py --port P --delay S``), so neither the service nor the
in-process peer shares an interpreter with it.

``hanlin worker --app service_app:app`` (with this folder on ``PYTHONPATH`` and the model's
URL in ``HANLIN_BENCH_MODEL_URL``) serves the same agent the peer runs in process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import threading
from collections.abc import AsyncIterator, Sequence

from hanlin import Agent, OpenAICompatibleModel, tool
from hanlin.llm.chat_model import (
    BaseChatModel,
    ChatOptions,
    ChatResult,
    Completed,
    StreamItem,
    TextDelta,
    ToolSpec,
    Usage,
)
from hanlin.llm.messages import AssistantMessage, Message, ToolCall, ToolMessage
from hanlin.service import ServiceApp

MODEL_URL_ENV = "HANLIN_BENCH_MODEL_URL"
MODEL_NAME = "bench"
ASSISTANT = "bench"


@tool
def lookup(key: str) -> str:
    """Look a key up (a dictionary read: the tool itself costs nothing measurable)."""
    return f"{key} = {sum(map(ord, key)) % 97}"


class ThreeStepModel(BaseChatModel):
    """Sleeps ``delay`` seconds per call, then: a ``lookup`` call, an empty reply, an answer.

    The step is read from the conversation (assistant turns so far), so one instance serves
    any number of concurrent runs.
    """

    name = MODEL_NAME

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def reply(self, messages: Sequence[Message]) -> AssistantMessage:
        turns = sum(isinstance(m, AssistantMessage) for m in messages)
        if turns == 0:
            call = ToolCall(id="call_lookup", name="lookup", arguments={"key": "answer"})
            return AssistantMessage(tool_calls=[call])
        if turns == 1:
            return AssistantMessage(content="")
        found = [m.content for m in messages if isinstance(m, ToolMessage)]
        return AssistantMessage(content=f"The lookup says {found[-1] if found else 'nothing'}.")

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
    ) -> AsyncIterator[StreamItem]:
        message = self.reply(messages)
        await asyncio.sleep(self.delay)
        if message.content:
            yield TextDelta(text=message.content)
        usage = Usage(prompt_tokens=len(messages), completion_tokens=1)
        yield Completed(result=ChatResult(message=message, usage=usage, raw_text=message.content))


def bench_agent(model_url: str) -> Agent:
    """The agent both sides run: ReAct, one tool, the loopback model (one HTTP client)."""
    model = OpenAICompatibleModel(f"{model_url}/v1", MODEL_NAME, max_retries=0)
    return Agent(name=ASSISTANT, model=model, tools=[lookup], max_steps=8)


def _service_app() -> ServiceApp:
    app = ServiceApp()
    url = os.environ.get(MODEL_URL_ENV)
    if url:  # the benchmark imports this module for the model server and the agent alone
        app.register(ASSISTANT, bench_agent(url), description="ReAct + lookup, loopback model.")
    return app


app = _service_app()


def serve_model(port: int, delay: float) -> None:
    """Serve ``ThreeStepModel`` on 127.0.0.1:``port`` until SIGTERM."""
    from hanlin.serving.limits import ServerLimits
    from hanlin.serving.server import BackgroundServer, create_app

    # Far above what the benchmark sends at once, so the model server never queues or refuses.
    limits = ServerLimits(max_active=1024, max_waiting=1024, max_connections=4096)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    app_ = create_app({MODEL_NAME: ThreeStepModel(delay)}, limits=limits)
    with BackgroundServer(app_, port=port, limits=limits):
        print(f"model server on 127.0.0.1:{port}, {delay:.3f}s per call", flush=True)
        stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve the benchmark's model.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.2)
    args = parser.parse_args()
    serve_model(args.port, args.delay)
