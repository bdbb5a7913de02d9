"""The sealed dialogue set through the real ``converse --json -``, held to its gate.

Written 2026-12-02 by a helper who saw only the article and the fact ids; its first contact
that day (engine at 96c7899): 62.8% of turns right, 75.0% of declines. Its failures have
never been looked at: only its figures are read, here and when a change is weighed. Its own
file, so the two dialogue sets run on different workers.
"""

from __future__ import annotations

import pytest
from test_dialogues import ROOT, below_its_gate

pytestmark = pytest.mark.slow  # ~190 turns through the meaning model, in a subprocess

SEALED = ROOT / "benchmarks" / "data" / "dialogues" / "sealed_2026-12-02.yaml"


def test_sealed_dialogue_gate() -> None:
    below = below_its_gate(SEALED)
    assert not below, "; ".join(below)
