"""The quality gate on the blind sets of 2026-12-03: each floor at or near its first contact.

Apart from tests/test_accuracy.py (same engine, same figures) so that the two halves of
about 3,800 questions through the meaning model run on two workers at once.
"""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.evaluation import evaluate, load_cases
from bot.knowledge import load_knowledge
from bot.replies import Engine
from tests.test_accuracy import ROOT, _figures

pytestmark = pytest.mark.slow

# set: (answerable right, declined right: near misses, off-topic and chit-chat together)
GATES = {
    # First contact 2026-12-03 (engine of 92cb198): en 89.6% / 91.1%, tr 90.0% / 94.0%,
    # az 87.0% / 92.0%, ru 92.0% / 90.0%; then development sets.
    "benchmarks/data/blind/en_sealed_2026-12-03.yaml": (0.92, 0.91),
    "benchmarks/data/blind/tr_sealed_2026-12-03.yaml": (0.92, 0.94),
    "benchmarks/data/blind/az_sealed_2026-12-03.yaml": (0.89, 0.92),
    "benchmarks/data/blind/ru_sealed_2026-12-03.yaml": (0.94, 0.90),
    # First contact 2026-12-03 at c6a775a: en 95.8% / 90.0%, tr 87.0% / 92.0%, az 85.0% /
    # 90.0%, ru 92.0% / 88.0%. Not fitted on and their failures not looked at; the floors
    # sit one or two questions below first contact, for float differences between machines.
    "benchmarks/data/blind/en_sealed_2026-12-03b.yaml": (0.95, 0.89),
    "benchmarks/data/blind/tr_sealed_2026-12-03b.yaml": (0.86, 0.90),
    "benchmarks/data/blind/az_sealed_2026-12-03b.yaml": (0.84, 0.88),
    "benchmarks/data/blind/ru_sealed_2026-12-03b.yaml": (0.91, 0.86),
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    settings = load_settings(ROOT / "config" / "bot.yaml", env={})
    return Engine.build(load_knowledge(settings.facts, settings.article), settings.matching)


@pytest.mark.parametrize("name", list(GATES))
def test_blind_gate(engine: Engine, name: str) -> None:
    ids = [f.id for f in engine.kb.facts]
    answerable, declined, wrong = _figures(evaluate(engine, load_cases(ROOT / name, ids)))
    want_answerable, want_declined = GATES[name]
    assert answerable >= want_answerable, f"answerable {answerable:.1%}\n{wrong}"
    assert declined >= want_declined, f"declined {declined:.1%}\n{wrong}"
