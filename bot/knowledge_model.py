"""The knowledge base as the engine sees it: the article's source, its facts, the shared
vocabulary, and the problems that refuse a file (:class:`KnowledgeError`).

Immutable; :func:`bot.knowledge_parse.parse_knowledge` checks a file before it builds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a knowledge file, located as precisely as possible."""

    file: str
    message: str
    line: int | None = None
    fact_id: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        who = f" fact '{self.fact_id}':" if self.fact_id else ""
        return f"{where}:{who} {self.message}"


class KnowledgeError(Exception):
    """The knowledge file (or the article) cannot be used; ``problems`` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class Source:
    """Where the article comes from."""

    title: str
    outlet: str
    author: str
    date: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Fact:
    """One fact of the article: how people ask for it, the answer, and the proving quote."""

    id: str
    questions: tuple[str, ...]
    answer: str
    quote: str
    keywords: tuple[str, ...] = ()
    answers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    written_labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """The ``labels:`` the file gives, per language: what a suggestion button says."""
    labels: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    """Per language, the label a button shows: the written label, else the first phrasing
    in that language (:func:`bot.language.labels_by_language`, found once by the loader:
    suggestion labels are on every "doesn't say" reply)."""

    def answer_in(self, language: str) -> str:
        """The answer in ``language`` when written, else the default (English) one."""
        return self.answers.get(language, self.answer)

    def question_in(self, language: str) -> str:
        """The label written for ``language``, else the first phrasing in it, else the
        English label, else the first phrasing."""
        english = self.written_labels.get("en", self.questions[0])
        return english if language == "en" else self.labels.get(language, english)


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """An immutable, validated knowledge base."""

    source: Source
    facts: tuple[Fact, ...]
    article: str
    aliases: Mapping[str, tuple[str, ...]]
    stopwords: frozenset[str]
    chit_chat: Mapping[str, tuple[str, ...]]
    unanswerable: tuple[str, ...]
    examples: tuple[str, ...]
    path: str = "<memory>"
    digest: str = ""
    lexicon_paths: tuple[str, ...] = ()
    people: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Person named in the article -> the pronoun group ("he", "she") that refers to them."""
    warnings: tuple[Problem, ...] = ()
    """What is legal but likely wrong (``check`` prints these and still exits 0)."""

    def fact(self, fact_id: str) -> Fact | None:
        """The fact with this id, or ``None``."""
        for fact in self.facts:
            if fact.id == fact_id:
                return fact
        return None

    @property
    def example_facts(self) -> tuple[Fact, ...]:
        """The facts named in ``examples``, in order: what /start and suggestions offer."""
        found = (self.fact(fact_id) for fact_id in self.examples)
        return tuple(fact for fact in found if fact is not None)

    @property
    def phrasing_count(self) -> int:
        """How many question phrasings the facts carry in all."""
        return sum(len(f.questions) for f in self.facts)
