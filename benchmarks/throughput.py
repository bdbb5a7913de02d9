"""Whole-process throughput of ``python -m bot ask --json -`` over many questions.

Usage: python -m benchmarks.throughput [QUESTIONS.yaml] [--lines 10000] [--runs 3]
                                       [--out FILE]

The evaluation questions are cycled to ``--lines`` input lines and piped to one process
(written by a separate thread while the output is read). Measured by the parent: wall time
from launch to exit, and from the first output line to the last (the steady state, without
start-up). Checked: exactly one JSON line per input line, each a JSON object whose
``question`` is that input line, in order, and exit status 0; the script exits 1 otherwise.
Reported: questions per second (median of ``--runs``), CPU time and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from itertools import cycle, islice
from pathlib import Path

from benchmarks.common import add_project_arguments, emit, load_arguments, machine, median, table
from benchmarks.proc import Run, bot_command, bytecode_env, run


def problems(inputs: Sequence[str], result: Run) -> list[str]:
    """Everything wrong with the output: line count, JSON, echo of the question, status."""
    found: list[str] = []
    if result.returncode != 0:
        found.append(f"exit status {result.returncode}: {result.stderr.strip()[:500]}")
    if len(result.lines) != len(inputs):
        found.append(f"{len(inputs):,} lines in, {len(result.lines):,} lines out")
    for n, (question, line) in enumerate(zip(inputs, result.lines, strict=False), 1):
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            found.append(f"line {n}: not JSON: {line[:80]!r}")
        else:
            if not isinstance(data, dict) or data.get("question") != question:
                found.append(f"line {n}: answers another question: {line[:80]!r}")
        if len(found) > 5:
            break
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_project_arguments(parser)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args(argv)

    questions = [c.question for c in load_arguments(args)[2]]
    inputs = list(islice(cycle(questions), args.lines))
    command = bot_command("ask", "--config", str(args.config), "--json", "-")
    runs: list[Run] = []
    for _ in range(args.runs):
        result = run(command, inputs, env=bytecode_env())
        wrong = problems(inputs, result)
        if wrong:
            print("FAILED:\n  " + "\n  ".join(wrong), file=sys.stderr)
            return 1
        runs.append(result)

    rows = []
    for n, r in enumerate(runs, 1):
        steady = r.exit_s - (r.first_line_s or 0.0)
        rows.append(
            [
                str(n),
                f"{r.exit_s:.2f}",
                f"{len(inputs) / r.exit_s:,.0f}",
                f"{(r.first_line_s or 0.0) * 1000:.0f}",
                f"{(len(inputs) - 1) / steady:,.0f}" if steady > 0 else "-",
                f"{r.user_s + r.system_s:.2f}",
                f"{r.maxrss_bytes / 1e6:.1f}",
            ]
        )
    qps = median([len(inputs) / r.exit_s for r in runs])
    headers = [
        "Run",
        "Wall s",
        "Questions/s (wall)",
        "First line ms",
        "Questions/s (first to last line)",
        "CPU s",
        "Peak RSS MB",
    ]
    answered = sum(json.loads(line)["answered"] for line in runs[0].lines)
    lines = [
        f"### Throughput of `python -m bot ask --json -` ({len(inputs):,} questions: the "
        f"{len(questions)} evaluation questions cycled)",
        "",
        table(headers, rows, right=range(0, 7)),
        "",
        f"Median: **{qps:,.0f} questions/s** including start-up. Checked on every run: "
        f"{len(inputs):,} lines in, exactly one JSON object out per line, echoing its question "
        f"in order, exit status 0 ({answered:,} of them answered with a fact). "
        "One single-threaded process.",
        "",
        machine() + ".",
    ]
    emit("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
