"""The quality gate on the unsealed sets other than the two author-written ones (held-out and
development sets): apart from tests/test_accuracy.py (same engine, same floors, same check)
so that the two halves of its questions through the meaning model run on both workers."""

from __future__ import annotations

import pytest

from bot.evaluation import evaluate, load_cases
from bot.replies import Engine
from tests.test_accuracy import AUTHORED, GATES, ROOT, assert_clears, engine

pytestmark = pytest.mark.slow

HELDOUT = [name for name in GATES if name not in AUTHORED]
__all__ = ["engine"]  # the module's fixture, shared


@pytest.mark.parametrize("name", HELDOUT)
def test_accuracy_gate(engine: Engine, name: str) -> None:
    ids = [f.id for f in engine.kb.facts]
    assert_clears(evaluate(engine, load_cases(ROOT / name, ids)), GATES[name])


def test_every_unsealed_set_is_gated_in_one_of_the_two_files() -> None:
    assert sorted([*AUTHORED, *HELDOUT]) == sorted(GATES) and len(HELDOUT) == 4
