"""The other half of the sealed blind sets' gates (see tests/test_accuracy_blind.py)."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.evaluation import evaluate, load_cases
from tests.test_accuracy import ROOT, assert_clears
from tests.test_accuracy_blind import SEALED, engine

pytestmark = pytest.mark.slow

GATES = {name: SEALED[name] for name in sorted(SEALED)[1::2]}
__all__ = ["engine"]  # the module's fixture, shared


@pytest.mark.parametrize("name", list(GATES))
def test_blind_gate(engine: Engine, name: str) -> None:
    ids = [f.id for f in engine.kb.facts]
    assert_clears(evaluate(engine, load_cases(ROOT / name, ids)), GATES[name])
