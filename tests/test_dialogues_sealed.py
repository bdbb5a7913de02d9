"""The sealed dialogue set through the real ``converse --json -``, held to its gate.

Written 2026-12-02 by a helper who saw only the article and the fact ids; its first contact
that day (engine at 96c7899): 62.8% of turns right, 75.0% of declines. Its failures have
never been looked at: only its figures are read, here and when a change is weighed. Its own
file, so the two dialogue sets run on different workers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.dialogues import run_outcomes
from bot.config import load_settings
from bot.dialogues import dialogue_figures
from bot.evaluation import shortfalls

pytestmark = pytest.mark.slow  # ~190 turns through the meaning model, in a subprocess

ROOT = Path(__file__).resolve().parent.parent
SEALED = ROOT / "benchmarks" / "data" / "dialogues" / "sealed_2026-12-02.yaml"
GATE = load_settings(ROOT / "config" / "bot.yaml", env={}).evaluation.gate_for(SEALED)


def test_sealed_dialogue_gate() -> None:
    assert GATE is not None and GATE.turns is not None and GATE.declined is not None
    below = shortfalls(dialogue_figures(run_outcomes(SEALED)), GATE)
    assert not below, "; ".join(map(str, below))
