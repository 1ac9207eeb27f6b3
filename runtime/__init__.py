"""Running agents and teams: the ``Runner``, durable state in Redis, settings, and the run
contract (events, approvals, the tool journal, state) re-exported for callers above.

The UI and the service import from here only. Names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hanlin._lazy import lazy_exports

if TYPE_CHECKING:
    from hanlin.contract import (
        AgentState,
        ApprovalDecision,
        ApprovalPolicy,
        ApprovalRequest,
        ErrorEvent,
        Event,
        FinalAnswerEvent,
        InterruptEvent,
        MemoryRecallEvent,
        MemoryToolJournal,
        MessageEvent,
        Perceiving,
        PlanEvent,
        RunTarget,
        TokenEvent,
        ToolCallEvent,
        ToolJournal,
        ToolResultEvent,
        dump,
        emit,
        event_adapter,
        initial_state,
        require_run_target,
        state_messages,
    )
    from hanlin.runtime.models import model_from_settings
    from hanlin.runtime.redis_runtime import redis_feature_report, redis_runner
    from hanlin.runtime.runner import Runner, RunResult, has_work_left, interrupt_event
    from hanlin.runtime.settings import HanlinSettings, ModelSettings, RedisSettings, load_settings
    from hanlin.runtime.tool_journal import RedisToolJournal

_CONTRACT = [
    "AgentState",
    "ApprovalDecision",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ErrorEvent",
    "Event",
    "FinalAnswerEvent",
    "InterruptEvent",
    "MemoryRecallEvent",
    "MemoryToolJournal",
    "MessageEvent",
    "Perceiving",
    "PlanEvent",
    "RunTarget",
    "TokenEvent",
    "ToolCallEvent",
    "ToolJournal",
    "ToolResultEvent",
    "dump",
    "emit",
    "event_adapter",
    "initial_state",
    "require_run_target",
    "state_messages",
]
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(_CONTRACT, "hanlin.contract"),
    "Runner": "hanlin.runtime.runner",
    "RunResult": "hanlin.runtime.runner",
    "has_work_left": "hanlin.runtime.runner",
    "interrupt_event": "hanlin.runtime.runner",
    "redis_runner": "hanlin.runtime.redis_runtime",
    "redis_feature_report": "hanlin.runtime.redis_runtime",
    "RedisToolJournal": "hanlin.runtime.tool_journal",
    "HanlinSettings": "hanlin.runtime.settings",
    "ModelSettings": "hanlin.runtime.settings",
    "RedisSettings": "hanlin.runtime.settings",
    "load_settings": "hanlin.runtime.settings",
    "model_from_settings": "hanlin.runtime.models",
}
__all__ = [
    "AgentState",
    "ApprovalDecision",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ErrorEvent",
    "Event",
    "FinalAnswerEvent",
    "HanlinSettings",
    "InterruptEvent",
    "MemoryRecallEvent",
    "MemoryToolJournal",
    "MessageEvent",
    "ModelSettings",
    "Perceiving",
    "PlanEvent",
    "RedisSettings",
    "RedisToolJournal",
    "RunResult",
    "RunTarget",
    "Runner",
    "TokenEvent",
    "ToolCallEvent",
    "ToolJournal",
    "ToolResultEvent",
    "dump",
    "emit",
    "event_adapter",
    "has_work_left",
    "initial_state",
    "interrupt_event",
    "load_settings",
    "model_from_settings",
    "redis_feature_report",
    "redis_runner",
    "require_run_target",
    "state_messages",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
