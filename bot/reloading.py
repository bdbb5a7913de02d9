"""Reloading the knowledge base while the bot keeps answering (no Telegram import here).

:class:`KnowledgeHolder` owns the one reference to the current :class:`~bot.engine.Engine`.
A reload reads, validates and indexes the *whole* new file first, in a child process bounded
in time and memory (:mod:`bot.build_worker`), and only then swaps that single attribute. A
file with any problem leaves the old engine serving. Readers take ``holder.engine`` once per
question and use that object throughout, so one reply never mixes two versions of the
knowledge base.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.build_worker import MEMORY_BYTES, BuildError, build_isolated
from bot.engine import Engine
from bot.gc_freeze import settle
from bot.knowledge_load import load_knowledge
from bot.knowledge_model import KnowledgeBase, KnowledgeError, Problem
from bot.match_settings import MatchSettings

logger = logging.getLogger(__name__)

MAX_LISTED_IDS = 30
"""A summary names at most this many ids per category (the rest are counted)."""
RELOAD_SECONDS = 30.0
"""A reload that has not built the new engine in this long is stopped (the old one serves)."""


@dataclass(frozen=True, slots=True)
class ReloadSummary:
    """What a successful reload changed."""

    path: str
    before: int
    after: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    other_changed: bool
    """True when a section other than ``facts`` (aliases, examples, source...) changed."""

    @property
    def unchanged(self) -> bool:
        """True when the new file means exactly what the old one did."""
        return not (self.added or self.removed or self.changed or self.other_changed)

    def lines(self) -> list[str]:
        """The summary as short lines of plain text."""
        out = [f"Reloaded {Path(self.path).name}: {self.before} → {self.after} facts."]
        if self.unchanged:
            out.append("No changes.")
            return out
        out.append(f"Added: {_list_ids(self.added)}")
        out.append(f"Removed: {_list_ids(self.removed)}")
        out.append(f"Changed: {_list_ids(self.changed)}")
        if self.other_changed:
            out.append("Other sections (aliases, examples, source...) changed too.")
        return out

    def text(self) -> str:
        """The summary as one plain-text message."""
        return "\n".join(self.lines())


@dataclass(frozen=True, slots=True)
class ReloadFailure:
    """A reload that was refused; the previous knowledge base is still serving."""

    path: str
    error: KnowledgeError
    serving: int
    """How many facts the engine that keeps serving has."""

    def text(self) -> str:
        """The refusal as plain text (problems listed one per line)."""
        return (
            f"Reload refused: {len(self.error.problems)} problem(s) in {Path(self.path).name}. "
            f"Still serving the previous version ({self.serving} facts).\n{self.error}"
        )


ReloadOutcome = ReloadSummary | ReloadFailure


def _list_ids(ids: tuple[str, ...]) -> str:
    if not ids:
        return "none"
    shown = ", ".join(ids[:MAX_LISTED_IDS])
    if len(ids) > MAX_LISTED_IDS:
        shown += f" and {len(ids) - MAX_LISTED_IDS} more"
    return shown


def _other_sections(kb: KnowledgeBase) -> tuple[object, ...]:
    return (
        kb.source,
        dict(kb.aliases),
        kb.stopwords,
        dict(kb.chit_chat),
        kb.unanswerable,
        kb.examples,
        kb.article,
    )


def diff(old: KnowledgeBase, new: KnowledgeBase) -> ReloadSummary:
    """Compare two knowledge bases: ids added, removed, changed (same id, other content)."""
    old_facts = {f.id: f for f in old.facts}
    new_facts = {f.id: f for f in new.facts}
    return ReloadSummary(
        path=new.path,
        before=len(old.facts),
        after=len(new.facts),
        added=tuple(i for i in new_facts if i not in old_facts),
        removed=tuple(i for i in old_facts if i not in new_facts),
        changed=tuple(i for i in new_facts if i in old_facts and old_facts[i] != new_facts[i]),
        other_changed=_other_sections(old) != _other_sections(new),
    )


class KnowledgeHolder:
    """The current engine, and the one way to replace it (validate first, then swap)."""

    def __init__(
        self,
        engine: Engine,
        facts: Path,
        article: Path,
        settings: MatchSettings | None = None,
    ) -> None:
        self.engine = engine
        """The engine serving now. Read it once per question; never mutate it."""
        self.facts = facts
        self.article = article
        self.settings = settings
        self.version = 1
        """Incremented by every successful swap."""
        self.timeout = RELOAD_SECONDS
        self.memory = MEMORY_BYTES
        """A reload's build may take ``timeout`` seconds and map ``memory`` bytes."""
        self._lock = asyncio.Lock()

    @classmethod
    def load(
        cls, facts: Path, article: Path, settings: MatchSettings | None = None
    ) -> KnowledgeHolder:
        """Load the first engine synchronously; raises KnowledgeError."""
        holder = cls(
            Engine.build(load_knowledge(facts, article), settings), facts, article, settings
        )
        settle()
        return holder

    def _build(self) -> Engine:
        """The new engine, from a child process (blocks: run it off the event loop)."""
        return build_isolated(
            self.facts, self.article, self.settings, timeout=self.timeout, memory=self.memory
        )

    def _refused(self, message: str) -> ReloadFailure:
        problem = Problem(str(self.facts), message)
        return ReloadFailure(str(self.facts), KnowledgeError([problem]), len(self.engine.kb.facts))

    async def reload(self) -> ReloadOutcome:
        """Load, validate and index the files in a child process, then swap; never raises
        KnowledgeError (the old engine keeps serving and the failure is returned).

        The event loop never waits for the build, so the bot keeps answering meanwhile; a
        build that takes longer than ``timeout`` seconds or more than ``memory`` bytes is
        stopped, and nothing of it stays behind.
        """
        async with self._lock:  # concurrent reloads run one after the other
            old = self.engine
            try:
                new = await asyncio.get_running_loop().run_in_executor(None, self._build)
            except BuildError as exc:
                logger.error(
                    "reload of %s stopped: %s; still serving %d facts",
                    self.facts,
                    exc,
                    len(old.kb.facts),
                )
                return self._refused(str(exc))
            except KnowledgeError as exc:
                logger.warning(
                    "reload of %s refused (%d problem(s)); still serving %d facts",
                    self.facts,
                    len(exc.problems),
                    len(old.kb.facts),
                )
                return ReloadFailure(str(self.facts), exc, len(old.kb.facts))
            summary = diff(old.kb, new.kb)
            self.engine = new  # the one swap: readers see either the old or the new engine
            settle()
            self.version += 1
            logger.info(
                "reloaded %s: %d -> %d facts; added %s; removed %s; changed %s",
                self.facts,
                summary.before,
                summary.after,
                _list_ids(summary.added),
                _list_ids(summary.removed),
                _list_ids(summary.changed),
            )
            return summary
