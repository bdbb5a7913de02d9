"""The quality gate: accuracy per category on the repository's evaluation set."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.evaluation import Report, evaluate, format_report, load_cases
from bot.knowledge import load_knowledge
from bot.replies import Engine

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "data" / "questions.yaml"
BARS = {"answerable": 0.97, "near_miss": 0.90, "off_topic": 0.98, "chit_chat": 0.98}


@pytest.fixture(scope="module")
def engine() -> Engine:
    settings = load_settings(ROOT / "config" / "bot.yaml", env={})
    return Engine.build(load_knowledge(settings.facts, settings.article), settings.matching)


@pytest.fixture(scope="module")
def report(engine: Engine) -> Report:
    cases = load_cases(QUESTIONS, (f.id for f in engine.kb.facts))
    return evaluate(engine, cases)


def test_set_is_large_enough(report: Report) -> None:
    counts = {c: report.accuracy(c)[1] for c in BARS}
    assert sum(counts.values()) >= 250
    assert counts["near_miss"] >= 30
    assert counts["off_topic"] + counts["chit_chat"] >= 60


@pytest.mark.parametrize("language", ["en"])
@pytest.mark.parametrize("category", list(BARS))
def test_accuracy_gate(report: Report, category: str, language: str) -> None:
    right, total = report.accuracy(category, language)
    if language != "en" and total == 0:
        pytest.fail(f"no {category} questions in {language}")
    assert total, f"no {category} questions"
    assert right / total >= BARS[category], format_report(report)


def test_evaluation_questions_are_not_copied_into_the_knowledge_base(
    engine: Engine, report: Report
) -> None:
    """A question copied into the knowledge base would measure nothing."""
    index = engine.index
    phrasings = {
        " ".join(index.tokens(q))
        for fact in engine.kb.facts
        for q in (*fact.questions, *fact.keywords)
    }
    phrasings |= {" ".join(index.tokens(q)) for q in engine.kb.unanswerable}
    copied = [
        o.case.question
        for o in report.outcomes
        if o.case.category in ("answerable", "near_miss")
        and " ".join(index.tokens(o.case.question)) in phrasings
    ]
    assert len(copied) <= len(report.outcomes) // 50, copied
