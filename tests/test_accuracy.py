"""The quality gate: accuracy per category on the repository's evaluation set."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.evaluation import Report, evaluate, load_cases
from bot.knowledge import load_knowledge
from bot.normalise import normalise
from bot.replies import Engine

ROOT = Path(__file__).resolve().parent.parent
QUESTION_SETS = (
    ROOT / "tests" / "data" / "questions.yaml",  # English, two independent authors
    ROOT / "tests" / "data" / "questions_i18n.yaml",  # Turkish, Azerbaijani, Russian
)
BARS = {"answerable": 0.97, "near_miss": 0.90, "off_topic": 0.98, "chit_chat": 0.98}


@pytest.fixture(scope="module")
def engine() -> Engine:
    settings = load_settings(ROOT / "config" / "bot.yaml", env={})
    return Engine.build(load_knowledge(settings.facts, settings.article), settings.matching)


@pytest.fixture(scope="module")
def report(engine: Engine) -> Report:
    ids = [f.id for f in engine.kb.facts]
    cases = [case for path in QUESTION_SETS for case in load_cases(path, ids)]
    return evaluate(engine, cases)


def test_set_is_large_enough(report: Report) -> None:
    counts = {c: report.accuracy(c, "en")[1] for c in BARS}
    assert sum(counts.values()) >= 250
    assert counts["near_miss"] >= 30
    assert counts["off_topic"] + counts["chit_chat"] >= 60
    for language in ("tr", "az", "ru"):
        assert sum(report.accuracy(c, language)[1] for c in BARS) >= 40, language


@pytest.mark.parametrize("language", ["en", "tr", "az", "ru"])
@pytest.mark.parametrize("category", list(BARS))
def test_accuracy_gate(report: Report, category: str, language: str) -> None:
    right, total = report.accuracy(category, language)
    assert total, f"no {category} questions in {language}"
    wrong = [
        o for o in report.wrong if o.case.category == category and o.case.language == language
    ]
    details = "\n".join(
        f"{o.case.question!r}: got {o.reply.fact.id if o.reply.fact else o.reply.verdict.value}"
        for o in wrong
    )
    assert right / total >= BARS[category], f"{right}/{total}\n{details}"


def test_evaluation_questions_are_not_copied_into_the_knowledge_base(
    engine: Engine, report: Report
) -> None:
    """A question copied into the knowledge base would measure nothing."""
    kb = engine.kb
    texts = [q for fact in kb.facts for q in (*fact.questions, *fact.keywords)]
    phrasings = {" ".join(normalise(q)) for q in (*texts, *kb.unanswerable)}
    copied = [
        o.case.question
        for o in report.outcomes
        if o.case.category in ("answerable", "near_miss")
        and " ".join(normalise(o.case.question)) in phrasings
    ]
    assert not copied
