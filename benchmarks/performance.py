"""Every performance figure of issue 14 in one run, each beside its baseline.

Usage: python -m benchmarks.performance [--quick] [--torch-python PYTHON] [--out FILE]

Runs, one after the other on this machine, and prints their reports in one document:
1. ``benchmarks.startup``: launch to first answer and peak memory, beside one-shot BM25;
2. ``benchmarks.batch``: 6,000 mixed questions through whole processes, beside BM25 and
   MiniLM dense retrieval (int8 ONNX; fp32 sentence-transformers with ``--torch-python``),
   with the meaning model's share of the bot's time;
3. ``benchmarks.length``: cost against message length, lexical path and whole reply, and
   the plot ``docs/latency_vs_length.png``;
4. ``benchmarks.scale``: 1,000 / 10,000 / 100,000 phrasings, p99 and memory, and the plot
   ``docs/latency_vs_size.png``.
``--quick`` runs each with small counts (a smoke run, minutes instead of half an hour; its
figures are not the README's). Exit status 0 when every part ran (a missed target is a
figure in the report, not a failure of the run).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import ROOT, emit, machine


def parts(quick: bool, torch_python: str | None) -> list[tuple[str, list[str]]]:
    """Each benchmark's module and arguments."""
    torch = ["--torch-python", torch_python] if torch_python else []
    if quick:
        return [
            ("startup", ["--runs", "3"]),
            ("batch", ["--lines", "300", "--runs", "1", "--share-every", "3", *torch]),
            ("length", ["--count", "100"]),
            ("scale", ["--sizes", "1000", "10000", "--queries", "100"]),
        ]
    return [
        ("startup", ["--runs", "10"]),
        ("batch", ["--runs", "2", *torch]),
        ("length", ["--count", "1500", "--plot"]),
        ("scale", ["--plot"]),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--torch-python", help="an interpreter with sentence-transformers")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args(argv)

    sections = [f"# Performance (issue 14), {time.strftime('%Y-%m-%d')}", "", machine() + "."]
    failed = []
    for name, arguments in parts(args.quick, args.torch_python):
        with tempfile.NamedTemporaryFile(suffix=".md") as report:
            command = [sys.executable, "-m", f"benchmarks.{name}", *arguments]
            command += ["--out", report.name]
            started = time.monotonic()
            result = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=False)
            took = time.monotonic() - started
            text = Path(report.name).read_text(encoding="utf-8").strip()
        if not text:
            failed.append(name)
            text = f"(failed with exit status {result.returncode}; run it alone to see why)"
        sections += ["", f"## {name} (`{' '.join(command[2:-2])}`, {took:.0f} s)", "", text]
    emit("\n".join(sections), args.out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
