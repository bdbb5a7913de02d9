"""The dialogue gate: a development dialogue set through the real ``converse --json -``.

The set was written by a helper who saw only the article and the list of fact ids. Its
first contact (2026-12-02, on a 297-turn draft, before any change because of it): 65.7% of
turns right. The floors, in the config's ``evaluation.gates`` (config/bot.yaml, the table
``python -m bot eval`` holds a set to), sit a little below what the engine reaches now
(docs/telegram.md, "Conversations"); the issue's aim is 95%.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.dialogues import run_outcomes
from bot.config import load_settings
from bot.dialogues import dialogue_figures, load_dialogues
from bot.evaluation import shortfalls

pytestmark = pytest.mark.slow  # ~320 turns through the meaning model, in a subprocess

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "benchmarks" / "data" / "dialogues" / "dev_2026-12-02.yaml"
# Gated on turns right and on declines right: context must not turn right declines into
# answers.


def below_its_gate(dialogues: Path) -> list[str]:
    """The figures of a dialogue set, run through ``converse --json -``, below its gate
    (which must hold both turns and declines)."""
    gate = load_settings(ROOT / "config" / "bot.yaml", env={}).evaluation.gate_for(dialogues)
    assert gate is not None and gate.turns is not None and gate.declined is not None
    return [str(s) for s in shortfalls(dialogue_figures(run_outcomes(dialogues)), gate)]


def test_dialogue_gate() -> None:
    below = below_its_gate(DEV)
    assert not below, "; ".join(below)


def test_the_set_is_large_enough() -> None:
    turns = [t for d in load_dialogues(DEV) for t in d]
    kinds = [t.kind for t in turns]
    assert sum(k in ("followup", "pronoun", "more") for k in kinds) >= 150
    assert sum(k in ("multi", "compare") for k in kinds) >= 50
