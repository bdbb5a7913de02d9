"""docs/editing.md's worked example runs as written, on a copy of the project.

The guide's section "A worked example" is read in order: a ``yaml`` block after a
``<!-- worked-example: ... -->`` marker is applied to the copy's ``knowledge/facts.yaml``
(appended, or inserted after the line the marker quotes), and each ``$`` line of a
``console`` block is run by bash in the copy; what the guide shows under it must be what the
command prints, line by line, where "…" stands for any text (a line of its own: any lines).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.cli import ROOT, TIMEOUT, cli_env

GUIDE = ROOT / "docs" / "editing.md"
SECTION = ("## A worked example", "## Other languages")
_BLOCK = re.compile(
    r"(?:<!-- worked-example: (?P<edit>.*?) -->\n)?```(?P<kind>\w+)\n(.*?)```", re.S
)

pytestmark = pytest.mark.slow  # the engine is built seven times and two sets are evaluated


def _steps() -> list[tuple[str, str | None, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    start, end = text.index(SECTION[0]), text.index(SECTION[1])
    return [(m["kind"], m["edit"], m[3]) for m in _BLOCK.finditer(text[start:end])]


def _edit(facts: Path, edit: str, block: str) -> None:
    text = facts.read_text(encoding="utf-8")
    if edit == "append to knowledge/facts.yaml":
        text = text.rstrip("\n") + "\n" + block
    else:
        found = re.fullmatch(r'after "(.*)"', edit)
        assert found, f"unknown worked-example edit: {edit}"
        anchor = found[1] + "\n"
        assert anchor in text, f"the guide edits after {anchor!r}, which the file lacks"
        text = text.replace(anchor, anchor + block, 1)
    facts.write_text(text, encoding="utf-8")


def _pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in line.split("…")))


def _assert_shown(command: str, shown: list[str], printed: list[str]) -> None:
    """``printed`` is ``shown``, where a "…" line skips any lines and "…" in a line any text."""
    where = 0
    gap = False
    for line in shown:
        if line == "…":
            gap = True
            continue
        pattern = _pattern(line)
        while where < len(printed) and not pattern.fullmatch(printed[where]):
            assert gap, f"{command}: expected {line!r}, got {printed[where]!r}\n" + "\n".join(
                printed
            )
            where += 1
        assert where < len(printed), f"{command}: {line!r} not printed:\n" + "\n".join(printed)
        where += 1
        gap = False
    assert gap or where == len(printed), f"{command}: more than the guide shows:\n" + "\n".join(
        printed[where:]
    )


def test_the_worked_example_runs_as_written(tmp_path: Path) -> None:
    for folder in ("knowledge", "config", "tests/data"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    # The guide's commands name .venv/bin/python; here that is the interpreter running us.
    shim = tmp_path / ".venv" / "bin" / "python"
    shim.parent.mkdir(parents=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = cli_env()
    steps = _steps()
    assert sum(kind == "console" for kind, _, _ in steps) >= 6, "the example lost its commands"
    for kind, edit, block in steps:
        if kind == "yaml":
            assert edit, "a yaml block in the worked example says where it goes"
            _edit(tmp_path / "knowledge" / "facts.yaml", edit, block)
            continue
        assert kind == "console"
        lines = block.rstrip("\n").split("\n")
        starts = [n for n, line in enumerate(lines) if line.startswith("$ ")]
        for number, start in enumerate(starts):
            stop = starts[number + 1] if number + 1 < len(starts) else len(lines)
            command = lines[start][2:]
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=TIMEOUT * 3,
                check=False,
            )
            assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stderr}"
            printed = done.stdout.rstrip("\n").split("\n") if done.stdout.strip() else []
            _assert_shown(command, lines[start + 1 : stop], printed)
    assert os.path.exists(tmp_path / "before.json")
