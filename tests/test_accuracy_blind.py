"""The quality gate on the sealed blind sets: each floor at or near its first contact.

The floors (and their first-contact figures) are in the config's ``evaluation.gates``
(config/bot.yaml), with the other sets'. Apart from tests/test_accuracy.py (same engine, same
figures) so that the two halves of about 3,800 questions through the meaning model run on
two workers at once.
"""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.evaluation import evaluate, load_cases
from bot.knowledge import load_knowledge
from bot.replies import Engine
from tests.test_accuracy import ROOT, assert_clears, configured_gates, is_sealed

pytestmark = pytest.mark.slow

GATES = {name: gate for name, gate in configured_gates().items() if is_sealed(name)}


@pytest.fixture(scope="module")
def engine() -> Engine:
    settings = load_settings(ROOT / "config" / "bot.yaml", env={})
    return Engine.build(load_knowledge(settings.facts, settings.article), settings.matching)


@pytest.mark.parametrize("name", list(GATES))
def test_blind_gate(engine: Engine, name: str) -> None:
    ids = [f.id for f in engine.kb.facts]
    assert_clears(evaluate(engine, load_cases(ROOT / name, ids)), GATES[name])


def test_the_sealed_sets_are_gated() -> None:
    assert len(GATES) == 12
