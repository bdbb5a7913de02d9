"""The quality gate: accuracy on every development set, with the shipped engine and rule.

Each set has a floor a little below what the shipped rule reaches on it (README,
"Accuracy"). A blind set joins this table after its first-contact run, with a floor no lower
than that first-contact figure: the engine may not fall back below what it did on questions
it had never seen.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.evaluation import Report, evaluate, load_cases
from bot.knowledge import load_knowledge
from bot.normalise import normalise
from bot.replies import Engine

pytestmark = pytest.mark.slow  # about 2,000 questions through the meaning model

ROOT = Path(__file__).resolve().parent.parent
# set: (answerable right, declined right: near misses, off-topic and chit-chat together)
GATES = {
    "tests/data/questions.yaml": (0.96, 0.96),
    "tests/data/questions_i18n.yaml": (0.96, 0.97),
    "benchmarks/data/heldout.yaml": (0.90, 0.95),
    "benchmarks/data/heldout_i18n.yaml": (0.92, 0.95),
    # First contact 2026-12-02: lexical matcher 74.7% / 85.4%, engine v2 as it then stood
    # 81.1% / 83.8%; then a development set.
    "benchmarks/data/blind/en_dev_2026-12-02.yaml": (0.84, 0.87),
    # First contact 2026-12-02: lexical matcher 70.8% / 83.3%, engine v2 as it then stood
    # 78.5% / 86.5%; then a development set.
    "benchmarks/data/blind/i18n_dev_2026-12-02.yaml": (0.79, 0.89),
}
PER_LANGUAGE = 0.90  # tr, az and ru each, on the author-written set (about 50 questions each)


@pytest.fixture(scope="module")
def engine() -> Engine:
    settings = load_settings(ROOT / "config" / "bot.yaml", env={})
    return Engine.build(load_knowledge(settings.facts, settings.article), settings.matching)


@pytest.fixture(scope="module")
def reports(engine: Engine) -> dict[str, Report]:
    ids = [f.id for f in engine.kb.facts]
    return {name: evaluate(engine, load_cases(ROOT / name, ids)) for name in GATES}


def _figures(report: Report, language: str | None = None) -> tuple[float, float, str]:
    chosen = [o for o in report.outcomes if language is None or o.case.language == language]
    answerable = [o for o in chosen if o.case.category == "answerable"]
    declined = [o for o in chosen if o.case.category != "answerable"]
    wrong = "\n".join(
        f"[{o.case.category}] {o.case.question!r}: got "
        f"{o.reply.fact.id if o.reply.fact else o.reply.verdict.value}"
        for o in chosen
        if not o.right
    )
    return (
        sum(o.right for o in answerable) / len(answerable),
        sum(o.right for o in declined) / len(declined),
        wrong,
    )


@pytest.mark.parametrize("name", list(GATES))
def test_accuracy_gate(reports: dict[str, Report], name: str) -> None:
    answerable, declined, wrong = _figures(reports[name])
    want_answerable, want_declined = GATES[name]
    assert answerable >= want_answerable, f"answerable {answerable:.1%}\n{wrong}"
    assert declined >= want_declined, f"declined {declined:.1%}\n{wrong}"


@pytest.mark.parametrize("language", ["tr", "az", "ru"])
def test_every_language_clears_the_gate(reports: dict[str, Report], language: str) -> None:
    answerable, declined, wrong = _figures(reports["tests/data/questions_i18n.yaml"], language)
    assert min(answerable, declined) >= PER_LANGUAGE, wrong


def test_sets_are_large_enough(reports: dict[str, Report]) -> None:
    english = reports["tests/data/questions.yaml"]
    assert len(english.outcomes) >= 250
    assert english.accuracy("near_miss")[1] >= 30
    for language in ("tr", "az", "ru"):
        i18n = reports["tests/data/questions_i18n.yaml"]
        assert sum(o.case.language == language for o in i18n.outcomes) >= 40, language


def test_evaluation_questions_are_not_copied_into_the_knowledge_base(
    engine: Engine, reports: dict[str, Report]
) -> None:
    """A question copied into the knowledge base would measure nothing."""
    kb = engine.kb
    texts = [q for fact in kb.facts for q in (*fact.questions, *fact.keywords)]
    phrasings = {" ".join(normalise(q)) for q in (*texts, *kb.unanswerable)}
    copied = [
        o.case.question
        # The sets written beside the knowledge file; the independent sets share the plain
        # questions ("who met whom?") by nature, not by copying.
        for name in ("tests/data/questions.yaml", "tests/data/questions_i18n.yaml")
        for o in reports[name].outcomes
        # Small talk is everybody's ("hi", "what can you do?"): only questions about the
        # article would be memorised answers.
        if o.case.category in ("answerable", "near_miss")
        and " ".join(normalise(o.case.question)) in phrasings
    ]
    assert not copied
