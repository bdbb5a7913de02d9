"""Running a question set against the engine and scoring it per category."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot import safe_yaml
from bot.conversation import respond
from bot.matcher import Verdict
from bot.replies import Engine, Reply

CATEGORIES = ("answerable", "near_miss", "off_topic", "chit_chat")


class QuestionSetError(Exception):
    """The question set file cannot be used."""


@dataclass(frozen=True, slots=True)
class Case:
    """One evaluation question with what a right reply is."""

    question: str
    expect: tuple[str, ...]  # acceptable fact ids; empty: no fact
    category: str
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A case and the reply it got."""

    case: Case
    reply: Reply

    @property
    def right(self) -> bool:
        """Answerable: expected facts only (each part of a message of several questions);
        chit-chat: small talk; others: no fact."""
        if self.case.category == "answerable":
            given = [p.fact.id for p in self.reply.shown_parts() if p.fact is not None]
            return bool(given) and all(g in self.case.expect for g in given)
        if self.case.category == "chit_chat":
            return self.reply.verdict is Verdict.SMALLTALK
        return self.reply.fact is None


@dataclass(slots=True)
class Report:
    """Accuracy per category (optionally per language) and every wrong case."""

    outcomes: list[Outcome] = field(default_factory=list)

    def accuracy(self, category: str, language: str | None = None) -> tuple[int, int]:
        """(right, total) for a category, optionally one language."""
        chosen = [
            o
            for o in self.outcomes
            if o.case.category == category and (language is None or o.case.language == language)
        ]
        return sum(o.right for o in chosen), len(chosen)

    @property
    def wrong(self) -> list[Outcome]:
        """Every case that got a wrong reply."""
        return [o for o in self.outcomes if not o.right]

    def languages(self) -> list[str]:
        """Languages present in the set, English first."""
        found = {o.case.language for o in self.outcomes}
        return sorted(found, key=lambda lang: (lang != "en", lang))


def read_set(path: Path, key: str, what: str) -> list[Any]:
    """The top-level ``key:`` list of an evaluation file; QuestionSetError saying why not."""
    try:
        data = safe_yaml.load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QuestionSetError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise QuestionSetError(f"{path}: cannot read {what}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise QuestionSetError(f"{path}: expected a top-level '{key}:' list")
    return list(data[key])


def load_cases(path: Path, known_ids: Iterable[str] | None = None) -> list[Case]:
    """Read a question set: ``cases: [{q, expect, category, lang?}]``."""
    ids = set(known_ids) if known_ids is not None else None
    cases: list[Case] = []
    for number, raw in enumerate(read_set(path, "cases", "question set"), 1):
        where = f"{path}: case #{number}"
        if not isinstance(raw, dict) or not isinstance(raw.get("q"), str):
            raise QuestionSetError(f"{where}: needs a string 'q'")
        category = raw.get("category")
        if category not in CATEGORIES:
            raise QuestionSetError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
        expect = raw.get("expect")
        if not (
            expect is None
            or isinstance(expect, str)
            or (isinstance(expect, list) and all(isinstance(e, str) for e in expect))
        ):
            raise QuestionSetError(f"{where}: 'expect' must be a fact id or a list of fact ids")
        expected = (expect,) if isinstance(expect, str) else tuple(expect or ())
        if category == "answerable" and not expected:
            raise QuestionSetError(f"{where}: an answerable case needs 'expect'")
        if category != "answerable" and expected:
            raise QuestionSetError(f"{where}: only answerable cases may expect a fact")
        if ids is not None:
            for fact_id in expected:
                if fact_id not in ids:
                    raise QuestionSetError(f"{where}: unknown fact id {fact_id!r}")
        cases.append(Case(raw["q"], expected, category, str(raw.get("lang", "en"))))
    return cases


def evaluate(engine: Engine, cases: Iterable[Case]) -> Report:
    """Answer every case, each as the first message of a conversation, as a user gets it."""
    report = Report()
    for case in cases:
        report.outcomes.append(Outcome(case, respond(engine, case.question).reply))
    return report


def format_report(report: Report) -> str:
    """Accuracy per category (and language when there are several), then each wrong case."""
    lines: list[str] = []
    languages = report.languages()
    for language in [None, *languages] if len(languages) > 1 else [None]:
        label = "all" if language is None else language
        for category in CATEGORIES:
            right, total = report.accuracy(category, language)
            if total:
                lines.append(
                    f"{label:>4} {category:<11} {right:>4}/{total:<4} {right / total:7.1%}"
                )
    wrong = report.wrong
    lines.append(f"wrong: {len(wrong)}")
    for o in wrong:
        got = o.reply.fact.id if o.reply.fact else o.reply.verdict.value
        fallback = "smalltalk" if o.case.category == "chit_chat" else "none"
        want = "|".join(o.case.expect) or fallback
        lines.append(
            f"  [{o.case.category}] {o.case.question!r}: "
            f"got {got} ({o.reply.score:.0f}), want {want}"
        )
    return "\n".join(lines)
