"""The run contract: what runs stream (events), what people answer (approvals), what keeps
tool steps idempotent (the journal), the graph state, and what a runner can run.

It sits below the planners and agents, which emit events and build graphs against it, and
above ``llm``. Callers reach it through ``hanlin.runtime`` or the top-level ``hanlin``.
"""

from hanlin.contract.approval import ApprovalDecision, ApprovalPolicy, ApprovalRequest
from hanlin.contract.events import (
    ErrorEvent,
    Event,
    FinalAnswerEvent,
    InterruptEvent,
    MemoryRecallEvent,
    MessageEvent,
    PlanEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
    emit,
    event_adapter,
)
from hanlin.contract.journal import MemoryToolJournal, ToolJournal
from hanlin.contract.state import AgentState, dump, initial_state, state_messages
from hanlin.contract.target import Perceiving, RunTarget, require_run_target

__all__ = [
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
