"""Helpers shared by the benchmark scripts: paths, loading, percentiles, Markdown tables.

Not a benchmark itself; every script is run from the project root as
``python -m benchmarks.NAME``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from bot.config import load_settings
from bot.evaluation import Case, load_cases
from bot.knowledge_load import load_knowledge
from bot.knowledge_model import KnowledgeBase
from bot.match_settings import MatchSettings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config" / "bot.yaml"
DEFAULT_QUESTIONS = ROOT / "tests" / "data" / "questions.yaml"
DOCS = ROOT / "docs"


def load_project(config: Path = DEFAULT_CONFIG) -> tuple[KnowledgeBase, MatchSettings]:
    """The article's knowledge base and the configured matcher settings (no env overrides)."""
    settings = load_settings(config, env={})
    return load_knowledge(settings.facts, settings.article), settings.matching


def load_questions(path: Path, kb: KnowledgeBase) -> list[Case]:
    """The evaluation cases, checked against the knowledge base's fact ids."""
    return load_cases(path, (f.id for f in kb.facts))


def add_project_arguments(parser: argparse.ArgumentParser) -> None:
    """The evaluation set (``QUESTIONS.yaml``, optional) and ``--config``."""
    parser.add_argument("questions", nargs="?", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)


def add_timing_arguments(parser: argparse.ArgumentParser, rounds: int) -> None:
    """``--rounds`` (timed passes over the set) and ``--no-pin``."""
    parser.add_argument("--rounds", type=int, default=rounds, help="timed passes over the set")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")


def load_arguments(
    args: argparse.Namespace,
) -> tuple[KnowledgeBase, MatchSettings, list[Case]]:
    """The knowledge base and settings of ``args.config`` and the cases of ``args.questions``."""
    kb, settings = load_project(args.config)
    return kb, settings, load_questions(args.questions, kb)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank method; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100), at least 1
    return float(ordered[int(rank) - 1])


def median(values: Sequence[float]) -> float:
    """The median, 0 for no values."""
    return float(statistics.median(values)) if values else 0.0


def ms(ns: float, digits: int = 3) -> str:
    """Nanoseconds as milliseconds text."""
    return f"{ns / 1e6:.{digits}f}"


def mib(n_bytes: float) -> str:
    """Bytes as MiB text."""
    return f"{n_bytes / 2**20:.1f}"


def table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], right: Collection[int] = ()
) -> str:
    """A Markdown table; the columns whose index is in ``right`` align right."""
    cells = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        padded = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("| " + " | ".join(padded) + " |")
        if n == 0:
            rule = ["-" * (w - 1) + ":" if i in right else "-" * w for i, w in enumerate(widths)]
            lines.append("| " + " | ".join(rule) + " |")
    return "\n".join(lines)


def cpu_name() -> str:
    """The CPU's model name (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """One line describing where the numbers were taken."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{cpu_name()}, {cores} core(s); {revision()}"
    )


def revision() -> str:
    """The git commit of the project and whether the work tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "bot",
                "knowledge",
                "config",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"commit {commit}" + (
        " with uncommitted changes to bot/, knowledge/ or config/" if dirty else ""
    )


def pin_unless(no_pin: bool) -> str:
    """Pin to one core (see :func:`pin_to_one_core`) unless ``no_pin``; a note either way."""
    return "not pinned" if no_pin else pin_to_one_core()


def pin_to_one_core() -> str:
    """Restrict this process to one CPU (Linux); returns a note saying what happened."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this platform)"
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[-1]})
    return f"pinned to CPU {cpus[-1]}"


def emit(text: str, out: Path | None) -> None:
    """Print ``text``; also write it to ``out`` when given."""
    print(text)
    sys.stdout.flush()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
