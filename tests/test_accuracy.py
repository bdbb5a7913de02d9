"""The quality gate: accuracy on every development set, with the shipped engine and rule.

The floors are the config's ``evaluation.gates`` (config/bot.yaml), the table ``python -m bot
eval`` holds a set to: a little below what the shipped rule reaches on each set
(docs/benchmarks.md, "Accuracy"). A blind set joins that table after its first-contact run,
with a floor no lower than that first-contact figure: the engine may not fall back below
what it did on questions it had never seen. This file runs the two author-written sets
(AUTHORED), with the checks on them; tests/test_accuracy_heldout.py the other unsealed
sets, tests/test_accuracy_blind.py the sealed blind ones (each file on a worker of its
own), tests/test_dialogues.py and tests/test_dialogues_sealed.py the dialogue sets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Gate, load_settings
from bot.dialogues import is_dialogue_set
from bot.engine import Engine
from bot.evaluation import Report, evaluate, got, load_cases, shortfalls
from bot.knowledge_load import load_knowledge
from bot.normalise import normalise

pytestmark = pytest.mark.slow  # about 2,000 questions through the meaning model

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "bot.yaml"


def configured_gates() -> dict[str, Gate]:
    """The config's gates by the set's path from the repository root, e.g.
    ``tests/data/questions.yaml``."""
    gates = load_settings(CONFIG, env={}).evaluation.gates
    return {path.relative_to(ROOT).as_posix(): gate for path, gate in gates}


def is_sealed(name: str) -> bool:
    """A sealed blind set: gated in tests/test_accuracy_blind.py."""
    return "_sealed_" in Path(name).name


# set: its floors (percent): answerable right, declined right (near misses, off-topic and
# chit-chat together), per_language (each language of the set)
GATES = {
    name: gate
    for name, gate in configured_gates().items()
    if not is_sealed(name) and not is_dialogue_set(ROOT / name)
}


AUTHORED = ("tests/data/questions.yaml", "tests/data/questions_i18n.yaml")
"""The sets written beside the knowledge file: gated here; the other GATES in
tests/test_accuracy_heldout.py (xdist gives each file to one worker)."""


@pytest.fixture(scope="module")
def engine() -> Engine:
    settings = load_settings(ROOT / "config" / "bot.yaml", env={})
    return Engine.build(load_knowledge(settings.facts, settings.article), settings.matching)


@pytest.fixture(scope="module")
def reports(engine: Engine) -> dict[str, Report]:
    ids = [f.id for f in engine.kb.facts]
    return {name: evaluate(engine, load_cases(ROOT / name, ids)) for name in AUTHORED}


def wrong_cases(report: Report, language: str | None = None) -> str:
    """Every wrong case (of one language), one per line, for a failure's message."""
    return "\n".join(
        f"[{o.case.category}] {o.case.question!r}: got {got(o)}"
        for o in report.outcomes
        if not o.right and language in (None, o.case.language)
    )


def assert_clears(report: Report, gate: Gate) -> None:
    """The set's overall floors, as ``python -m bot eval`` checks them (bot.evaluation)."""
    overall = Gate(answerable=gate.answerable, declined=gate.declined, turns=gate.turns)
    below = shortfalls(report.figures(), overall)
    assert not below, "; ".join(map(str, below)) + "\n" + wrong_cases(report)


def test_the_gates_are_the_shipped_sets() -> None:
    """Every gated set exists, and the two author-written sets are gated per language."""
    gates = configured_gates()
    assert all((ROOT / name).is_file() for name in gates), gates
    assert gates["tests/data/questions_i18n.yaml"].per_language is not None
    assert set(AUTHORED) <= set(GATES)


@pytest.mark.parametrize("name", AUTHORED)
def test_accuracy_gate(reports: dict[str, Report], name: str) -> None:
    assert_clears(reports[name], GATES[name])


@pytest.mark.parametrize("language", ["tr", "az", "ru"])
def test_every_language_clears_the_gate(reports: dict[str, Report], language: str) -> None:
    report = reports["tests/data/questions_i18n.yaml"]
    floor = GATES["tests/data/questions_i18n.yaml"].per_language
    assert floor is not None
    gate = Gate(per_language=floor)
    below = [s for s in shortfalls(report.figures(), gate) if s.language == language]
    assert report.figure("answerable", language)[1] and report.figure("declined", language)[1]
    assert not below, "; ".join(map(str, below)) + "\n" + wrong_cases(report, language)


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
        for name in AUTHORED
        for o in reports[name].outcomes
        # Small talk is everybody's ("hi", "what can you do?"): only questions about the
        # article would be memorised answers.
        if o.case.category in ("answerable", "near_miss")
        and " ".join(normalise(o.case.question)) in phrasings
    ]
    assert not copied
