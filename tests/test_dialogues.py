"""The dialogue gate: a development dialogue set through the real ``converse --json -``.

The set was written by a helper who saw only the article and the list of fact ids. Its
first contact (2026-12-02, on a 297-turn draft, before any change because of it): 65.7% of
turns right. The floor sits a little below what the engine reaches now (README,
"Conversations"); the issue's aim is 95%.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.dialogues import run_outcomes
from bot.dialogues import load_dialogues

pytestmark = pytest.mark.slow  # ~320 turns through the meaning model, in a subprocess

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "benchmarks" / "data" / "dialogues" / "dev_2026-12-02.yaml"
FLOOR = 0.70
DECLINE_FLOOR = 0.85  # context must not turn right declines into answers


def test_dialogue_gate() -> None:
    outcomes = run_outcomes(DEV)
    right = sum(o.right for o in outcomes) / len(outcomes)
    declines = [o for o in outcomes if o.turn.kind == "decline"]
    declined_right = sum(o.right for o in declines) / len(declines)
    assert right >= FLOOR, f"{right:.1%} of turns right"
    assert declined_right >= DECLINE_FLOOR, f"{declined_right:.1%} of declines right"


def test_the_set_is_large_enough() -> None:
    turns = [t for d in load_dialogues(DEV) for t in d]
    kinds = [t.kind for t in turns]
    assert sum(k in ("followup", "pronoun", "more") for k in kinds) >= 150
    assert sum(k in ("multi", "compare") for k in kinds) >= 50
