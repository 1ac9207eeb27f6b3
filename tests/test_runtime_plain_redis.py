"""hanlin on a Redis without modules: a clear report naming the fallback, and runs that work."""

from __future__ import annotations

from hanlin.agents.agent import Agent
from hanlin.llm.scripted import ScriptedModel, call
from hanlin.runtime.redis_runtime import redis_feature_report, redis_runner
from hanlin.tools.builtin.calculator import calculator


def test_report_names_what_is_missing_and_the_fallback(plain_redis_url: str) -> None:
    report = redis_feature_report(plain_redis_url)
    assert "search module" in report and "JSON module" in report
    assert "plain Redis commands for checkpoints" in report
    assert "in-process vector index" in report


def test_report_is_empty_on_redis_stack(redis_url: str) -> None:
    assert redis_feature_report(redis_url) == ""


async def test_runs_and_resumes_on_plain_redis(plain_redis_url: str) -> None:
    def agent() -> Agent:
        model = ScriptedModel([call("calculator", "c1", expression="2**10"), "1024"])
        return Agent(name="a", model=model, tools=[calculator])

    first = redis_runner(agent(), plain_redis_url)
    result = await first.run("plain-1", "2^10?")
    assert result.final_answer == "1024"
    again = redis_runner(agent(), plain_redis_url)  # a fresh process would see the same
    history = await again.messages("plain-1")
    assert [m.role for m in history] == ["user", "assistant", "tool", "assistant"]
    assert history[2].content == "1024"
