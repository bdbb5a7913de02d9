"""A dialogue set through the real ``python -m bot converse --json -`` process.

    python -m benchmarks.dialogues SET.yaml [--wrong]

Conversations are interleaved and replayed on their own clock (turns a minute apart), so the
context must be kept per conversation id. For a set's first contact: run it once, record the
figures with the date, and only then look at its failures (``--wrong``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bot.dialogues import (
    TurnOutcome,
    format_dialogue_report,
    load_dialogues,
    requests,
    score,
)

ROOT = Path(__file__).resolve().parent.parent


def run(path: Path, wrong: bool = False) -> str:
    """The report of ``path`` through ``converse`` (every turn's reply from the process)."""
    return format_dialogue_report(run_outcomes(path), wrong)


def run_outcomes(path: Path) -> list[TurnOutcome]:
    """Every turn of ``path`` with what ``python -m bot converse --json -`` gave it."""
    dialogues = load_dialogues(path)
    stdin = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests(dialogues))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "converse", "--json", "-"],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        check=True,
    )
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    return score(dialogues, replies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--wrong", action="store_true", help="list every wrong turn")
    args = parser.parse_args()
    for path in args.sets:
        print(f"## {path}\n{run(path, args.wrong)}\n")


if __name__ == "__main__":
    main()
