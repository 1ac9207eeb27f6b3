"""MemoryBank's hierarchical summaries: per day, then over all days.

Closing a day turns that day's dialogue turns into a daily event summary and a daily
personality analysis, then rebuilds the global event summary from every daily summary and
the user's portrait from every daily analysis. Summaries are kept per (user, agent): they
describe one conversation partner's history with one user. Re-running a day replaces its
records instead of adding more, so closing a day twice, or again after more turns, is safe.
New records are written before the old ones are deleted, so a failure midway leaves at worst
a duplicate that the next run removes, never a gap. Every answer of a step is checked (not
blank, within the store's text limit) before any of them is written, so a bad answer stores
nothing of its step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pydantic import BaseModel, Field

from hanlin.llm.chat_model import ChatModel, ChatOptions
from hanlin.memory.inputs import MemoryInputError, check_text
from hanlin.memory.prompts import (
    DatedText,
    Language,
    Speakers,
    check_language,
    daily_event_summary_prompt,
    daily_personality_prompt,
    global_event_summary_prompt,
    global_portrait_prompt,
    summary_request,
)
from hanlin.memory.records import MemoryKind, MemoryRecord
from hanlin.memory.store import MemoryStore


class MemorySummarizerError(RuntimeError):
    """A summary could not be produced (for example the model answered with nothing)."""


class ClosedDay(BaseModel):
    """What closing one day produced; the records are None where nothing was written."""

    user_id: str
    agent_id: str
    day: str
    turns: int  # dialogue turns of that day that were summarized
    daily_summary: MemoryRecord | None = None
    daily_personality: MemoryRecord | None = None
    global_summary: MemoryRecord | None = None
    portrait: MemoryRecord | None = None
    replaced: list[str] = Field(default_factory=list)  # ids of the records these replace


def check_day(day: str) -> str:
    try:
        if len(day) == 10 and dt.date.fromisoformat(day).isoformat() == day:
            return day
    except ValueError:
        pass
    raise ValueError(f"day must be a calendar date written YYYY-MM-DD, got {day!r}")


class MemorySummarizer:
    """Writes MemoryBank's daily and global summaries and personality records with ``model``."""

    def __init__(
        self,
        store: MemoryStore,
        model: ChatModel,
        language: Language = "en",
        *,
        speakers: Speakers | None = None,
        options: ChatOptions | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.language = check_language(language)
        self.speakers = speakers or Speakers.default(self.language)
        self.options = options or ChatOptions(temperature=0.0, max_tokens=400)

    async def close_day(self, user_id: str, agent_id: str, day: str) -> ClosedDay:
        """Summarize ``day``'s turns and refresh the global summary and portrait.

        A day without turns (none yet, or all forgotten) writes nothing and asks nothing.
        """
        return await self._close(user_id, agent_id, check_day(day), refresh_globals=True)

    async def summarize_now(self, user_id: str, agent_id: str, day: str | None = None) -> ClosedDay:
        """Summarize on demand: ``day``, or the latest day with turns, even if it goes on.

        With no turns at all, nothing is asked and the result's ``day`` is "".
        """
        if day is None:
            latest = await self.store.list(user_id, agent_id=agent_id, kinds=["turn"], limit=1)
            if not latest:
                return ClosedDay(user_id=user_id, agent_id=agent_id, day="", turns=0)
            day = latest[0].record.day
        return await self.close_day(user_id, agent_id, day)

    async def close_missing_days(
        self,
        user_id: str,
        agent_id: str,
        *,
        before: str | None = None,
    ) -> list[ClosedDay]:
        """Close every day that has turns but no daily summary yet (earlier than ``before``).

        This is MemoryBank's catch-up at login; the globals are rebuilt once, at the end.
        """
        before = check_day(before) if before is not None else None
        turn_days = {r.day for r in await self._records(user_id, agent_id, ["turn"])}
        done = {r.day for r in await self._records(user_id, agent_id, ["daily_summary"])}
        days = sorted(d for d in turn_days - done if before is None or d < before)
        closed = [await self._close(user_id, agent_id, d, refresh_globals=False) for d in days]
        if closed:
            summary, portrait, replaced = await self._refresh_globals(user_id, agent_id)
            last = closed[-1]
            last.global_summary, last.portrait = summary, portrait
            last.replaced += replaced
        return closed

    async def refresh_globals(
        self,
        user_id: str,
        agent_id: str,
    ) -> tuple[MemoryRecord | None, MemoryRecord | None]:
        """Rebuild the global event summary and the portrait from the daily records."""
        summary, portrait, _ = await self._refresh_globals(user_id, agent_id)
        return summary, portrait

    async def _close(
        self, user_id: str, agent_id: str, day: str, *, refresh_globals: bool
    ) -> ClosedDay:
        turns = [r for r in await self._records(user_id, agent_id, ["turn"]) if r.day == day]
        turns.sort(key=lambda r: (r.created_at, r.id))
        result = ClosedDay(user_id=user_id, agent_id=agent_id, day=day, turns=len(turns))
        if not turns:
            return result
        texts = [r.text for r in turns]
        event = await self._ask(daily_event_summary_prompt(day, texts, language=self.language))
        personality = await self._ask(
            daily_personality_prompt(day, texts, language=self.language, speakers=self.speakers)
        )
        metadata = {
            "language": self.language,
            "turns": len(turns),
            "turn_ids": [r.id for r in turns],
        }
        old = [
            r
            for r in await self._records(user_id, agent_id, ["daily_summary", "daily_personality"])
            if r.day == day
        ]
        result.daily_summary = await self.store.add(
            user_id, agent_id, event, kind="daily_summary", day=day, metadata=metadata
        )
        result.daily_personality = await self.store.add(
            user_id, agent_id, personality, kind="daily_personality", day=day, metadata=metadata
        )
        result.replaced = await self._delete(old)
        if refresh_globals:
            summary, portrait, replaced = await self._refresh_globals(user_id, agent_id)
            result.global_summary, result.portrait = summary, portrait
            result.replaced += replaced
        return result

    async def _refresh_globals(
        self,
        user_id: str,
        agent_id: str,
    ) -> tuple[MemoryRecord | None, MemoryRecord | None, list[str]]:
        daily = await self._dated(user_id, agent_id, "daily_summary")
        analyses = await self._dated(user_id, agent_id, "daily_personality")
        old = await self._records(user_id, agent_id, ["global_summary", "portrait"])
        summary = portrait = None
        summary_text = portrait_text = None
        if daily:
            summary_text = await self._ask(
                global_event_summary_prompt(daily, language=self.language)
            )
        if analyses:
            portrait_text = await self._ask(
                global_portrait_prompt(analyses, language=self.language, speakers=self.speakers)
            )
        if summary_text is not None:
            summary = await self.store.add(
                user_id,
                agent_id,
                summary_text,
                kind="global_summary",
                day=daily[-1].day,
                metadata={"language": self.language, "days": [d.day for d in daily]},
            )
        if portrait_text is not None:
            portrait = await self.store.add(
                user_id,
                agent_id,
                portrait_text,
                kind="portrait",
                day=analyses[-1].day,
                metadata={"language": self.language, "days": [d.day for d in analyses]},
            )
        # Only what was rebuilt is replaced: with no daily analyses left, the portrait stays.
        stale = [
            r
            for r in old
            if (r.kind == "global_summary" and summary is not None)
            or (r.kind == "portrait" and portrait is not None)
        ]
        return summary, portrait, await self._delete(stale)

    async def _dated(self, user_id: str, agent_id: str, kind: MemoryKind) -> list[DatedText]:
        records = await self._records(user_id, agent_id, [kind])
        records.sort(key=lambda r: (r.day, r.created_at, r.id))
        return [DatedText(day=r.day, text=r.text) for r in records]

    async def _records(
        self, user_id: str, agent_id: str, kinds: Sequence[MemoryKind]
    ) -> list[MemoryRecord]:
        views = await self.store.list(
            user_id, agent_id=agent_id, kinds=list(kinds), newest_first=False
        )
        return [view.record for view in views]

    async def _delete(self, records: Sequence[MemoryRecord]) -> list[str]:
        deleted = []
        for record in records:
            if await self.store.delete(record.user_id, record.agent_id, record.id):
                deleted.append(record.id)
        return deleted

    async def _ask(self, prompt: str) -> str:
        result = await self.model.chat(summary_request(prompt, self.language), options=self.options)
        text = result.message.content.strip()
        if not text:
            raise MemorySummarizerError(
                f"{self.model.name} returned an empty answer to a memory summary request; "
                "nothing was stored for this step"
            )
        limit = self.store.max_text_chars
        if len(text) > limit:
            raise MemorySummarizerError(
                f"{self.model.name} answered a memory summary request with {len(text):,} "
                f"characters, over the store's limit of {limit:,}; nothing was stored for this "
                "step (lower max_tokens in the summarizer's options, or raise max_text_chars)"
            )
        try:
            return check_text(text, what=f"{self.model.name}'s summary", max_chars=limit)
        except MemoryInputError as error:
            raise MemorySummarizerError(f"{error}; nothing was stored for this step") from error
