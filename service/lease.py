"""A worker's hold on one run: claimed with a fresh fencing token, renewed while it works,
and checked on every write, so a worker that lost it (paused, cut off, replaced) cannot
write over its successor."""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from redis.asyncio import Redis

from hanlin.service import lua
from hanlin.service.keys import ServiceKeys
from hanlin.service.records import utc_now

ClaimOutcome = Literal["claimed", "held", "final", "missing", "failed"]


class LeaseLost(Exception):
    """This worker no longer holds the run: another one may be executing it now."""


@dataclass(frozen=True)
class LeaseSettings:
    lease_ms: int = 10_000
    max_attempts: int = 3
    events_ttl_s: int = 86400


class LeaseScripts:
    """The fenced scripts, registered once per Redis client."""

    def __init__(self, client: Redis, keys: ServiceKeys, settings: LeaseSettings) -> None:
        self.client = client
        self.keys = keys
        self.settings = settings
        self.claim_script = client.register_script(lua.CLAIM)
        self.renew_script = client.register_script(lua.RENEW)
        self.publish_script = client.register_script(lua.PUBLISH)
        self.set_field_script = client.register_script(lua.SET_FIELD)
        self.finish_script = client.register_script(lua.FINISH)
        self.release_script = client.register_script(lua.RELEASE)

    async def claim(self, run_id: str, worker: str) -> tuple[ClaimOutcome, Lease | None, str]:
        """Take the run: a lease with the next fence, or why not (and a detail)."""
        reply = await self.claim_script(
            args=[
                self.keys.root,
                run_id,
                worker,
                self.settings.lease_ms,
                self.settings.max_attempts,
                utc_now().isoformat(),
                self.settings.events_ttl_s,
            ]
        )
        outcome: ClaimOutcome = reply[0]
        if outcome != "claimed":
            return outcome, None, reply[1] if len(reply) > 1 else ""
        lease = Lease(self, run_id, holder=reply[1], attempt=int(reply[2]), fence=int(reply[3]))
        return outcome, lease, ""


@dataclass
class Lease:
    scripts: LeaseScripts
    run_id: str
    holder: str
    attempt: int
    fence: int
    lost: bool = field(default=False)

    def _lost(self) -> LeaseLost:
        self.lost = True
        return LeaseLost(f"run {self.run_id}: lease {self.holder} is no longer held")

    def _args(self, *rest: str | int) -> list[str | int]:
        return [self.scripts.keys.root, self.run_id, self.holder, *rest]

    async def renew(self) -> bool:
        """Extend the lease; True when someone asked to cancel the run."""
        reply = await self.scripts.renew_script(args=self._args(self.scripts.settings.lease_ms))
        if reply == -1:
            raise self._lost()
        return bool(reply == 1)

    async def check(self) -> None:
        """Raise ``LeaseLost`` unless the lease is still this worker's."""
        current = await self.scripts.client.get(self.scripts.keys.run_lease(self.run_id))
        if current != self.holder:
            raise self._lost()

    async def publish(self, parts: Sequence[tuple[str, str]]) -> str:
        """Append events to the run's stream, all or none; the last entry id."""
        if not parts:
            return ""
        flat = [item for part in parts for item in part]
        reply = await self.scripts.publish_script(args=self._args(self.fence, *flat))
        if reply == 0:
            raise self._lost()
        return str(reply)

    async def set_field(self, name: str, value: str) -> None:
        if not await self.scripts.set_field_script(args=self._args(name, value)):
            raise self._lost()

    async def finish(
        self, status: str, *, error_kind: str = "", error: str = "", thread_status: str = ""
    ) -> None:
        """Record the outcome, end the event stream and start the thread's next run."""
        settings = self.scripts.settings
        done = await self.scripts.finish_script(
            args=self._args(
                status,
                error_kind,
                error,
                thread_status,
                utc_now().isoformat(),
                settings.events_ttl_s,
                self.fence,
            )
        )
        if not done:
            raise self._lost()

    async def release(self) -> bool:
        """Give the run back untouched (shutdown): the attempt does not count."""
        return bool(await self.scripts.release_script(args=self._args(utc_now().isoformat())))


current_lease: ContextVar[Lease | None] = ContextVar("hanlin_service_lease", default=None)


async def guard() -> None:
    """Inside a worker's run: stop unless the run's lease is still held. Elsewhere: no-op."""
    lease = current_lease.get()
    if lease is not None:
        await lease.check()
