"""Where the service keeps things in Redis: one naming scheme, shared by the API, the workers
and the Lua scripts (which build the same names from the prefix)."""

from __future__ import annotations

from dataclasses import dataclass

QUEUE_GROUP = "workers"


@dataclass(frozen=True)
class ServiceKeys:
    """Key names under ``<prefix>:svc``; the Lua scripts mirror ``run`` and ``thread``."""

    prefix: str = "hanlin"

    @property
    def root(self) -> str:
        return f"{self.prefix}:svc"

    @property
    def queue(self) -> str:
        """The work stream: one entry per run that is ready to execute."""
        return f"{self.root}:queue"

    def thread(self, thread_id: str) -> str:
        return f"{self.root}:thread:{thread_id}"

    def thread_runs(self, thread_id: str) -> str:
        return f"{self.thread(thread_id)}:runs"

    def thread_waiting(self, thread_id: str) -> str:
        return f"{self.thread(thread_id)}:waiting"

    def user_threads(self, owner: str) -> str:
        return f"{self.root}:user:{owner}:threads"

    def run(self, run_id: str) -> str:
        return f"{self.root}:run:{run_id}"

    def run_lease(self, run_id: str) -> str:
        return f"{self.run(run_id)}:lease"

    def run_events(self, run_id: str) -> str:
        return f"{self.run(run_id)}:events"

    def checkpoint_prefix(self) -> str:
        """What ``redis_runner`` is given, so checkpoints and the journal sit beside the rest."""
        return self.prefix
