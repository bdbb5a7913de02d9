"""Time from launching ``python -m bot ask "..."`` to its answer, and its peak memory.

Usage: python -m benchmarks.startup [--runs 10] [--question "Who wrote the article?"]
                                    [--check] [--out FILE]

Each command is run once unmeasured (to warm the page cache and write ``__pycache__``), then
``--runs`` times, with bytecode caching allowed (``PYTHONDONTWRITEBYTECODE`` is dropped from
the children's environment, so the warm-up run writes ``__pycache__`` as an installed bot
has it). Wall time runs from the launch: to the first line of the answer on stdout
("first answer") and to the process's exit. Peak memory is the process's own ``ru_maxrss``
(``getrusage`` of the child, via ``os.wait4`` in a minimal launcher: see benchmarks/proc.py
for why not straight from this process). For reference, the bare interpreter
(``python -c pass``) and importing the CLI (``python -c "import bot.cli"``) are measured the
same way, and so is the BM25 baseline (``python -m benchmarks.bm25``: Okapi BM25 over the
article's sentences, one answer). The bot starts from its engine cache (``bot.engine_cache``;
the warm-up run writes it), as every start after the first does. Targets (issue 14): median
first answer < 0.5 s and at most 1.5x BM25's in the same run, peak RSS < 100 MB (``--check``
exits 1 when one is missed).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import DEFAULT_CONFIG, emit, machine, median, table
from benchmarks.proc import Run, bot_command, bytecode_env, run
from bot.config import load_settings
from bot.engine import Engine
from bot.engine_cache import load_engine
from bot.knowledge_load import load_knowledge
from bot.replies import reply_to

TARGET_S = 0.5
TARGET_RATIO = 1.5
"""First answer at most this many times the BM25 baseline's, measured in the same run."""
TARGET_BYTES = 100_000_000


def measure(command: Sequence[str], runs: int) -> list[Run]:
    """One warm-up run, then ``runs`` measured ones; every run must succeed."""
    env = bytecode_env()
    done = [run(command, env=env) for _ in range(runs + 1)]
    for r in done:
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({r.returncode}):\n{r.stderr}")
    return done[1:]


def stages(question: str, repeat: int = 5) -> list[list[str]]:
    """In-process time of each start-up stage (median of ``repeat``; imports already done)."""
    times: dict[str, list[float]] = {}
    for _ in range(repeat):
        clock = time.perf_counter
        t0 = clock()
        settings = load_settings(DEFAULT_CONFIG, env={})
        t1 = clock()
        kb = load_knowledge(settings.facts, settings.article)
        t2 = clock()
        engine = Engine.build(kb, settings.matching)
        t3 = clock()
        reply_to(engine, question)
        t4 = clock()
        load_engine(settings.facts, settings.article, settings.matching)
        t5 = clock()
        for name, value in (
            ("load_settings (config/bot.yaml)", t1 - t0),
            ("load_knowledge (parse and validate facts.yaml), no cache", t2 - t1),
            ("Engine.build (index), no cache", t3 - t2),
            ("first reply_to", t4 - t3),
            ("load_engine from the cache (checks every source's digest)", t5 - t4),
        ):
            times.setdefault(name, []).append(value)
    return [[name, f"{median(v) * 1000:.1f}"] for name, v in times.items()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--question", default="Who wrote the article?")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args(argv)

    ask = bot_command("ask", args.question)
    rows = []
    results: dict[str, list[Run]] = {}
    for label, command in (
        (f'python -m bot ask "{args.question}"', ask),
        (
            f'python -m benchmarks.bm25 "{args.question}"',
            [sys.executable, "-m", "benchmarks.bm25", args.question],
        ),
        ('python -c "import bot.cli"', [sys.executable, "-c", "import bot.cli"]),
        ("python -c pass", [sys.executable, "-c", "pass"]),
    ):
        runs = measure(command, args.runs)
        results[label] = runs
        firsts = [r.first_line_s for r in runs if r.first_line_s is not None]
        exits = [r.exit_s for r in runs]
        rss = [r.maxrss_bytes for r in runs]
        rows.append(
            [
                label,
                f"{median(firsts) * 1000:.0f}" if firsts else "-",
                f"{median(exits) * 1000:.0f}",
                f"{min(exits) * 1000:.0f} - {max(exits) * 1000:.0f}",
                f"{median([r.user_s + r.system_s for r in runs]) * 1000:.0f}",
                f"{median(rss) / 1e6:.1f}",
                f"{max(rss) / 1e6:.1f}",
            ]
        )
    ask_runs = results[rows[0][0]]
    first = median([r.first_line_s or r.exit_s for r in ask_runs])
    peak = max(r.maxrss_bytes for r in ask_runs)
    floor = max(r.floor_bytes for runs in results.values() for r in runs)
    bm25 = median([r.first_line_s or r.exit_s for r in results[rows[1][0]]])
    time_ok = first < TARGET_S and first <= TARGET_RATIO * bm25
    memory_ok = peak < TARGET_BYTES
    headers = [
        "Command",
        "First answer ms (median)",
        "Exit ms (median)",
        "Exit ms (min - max)",
        "CPU ms (median)",
        "Peak RSS MB (median)",
        "Peak RSS MB (max)",
    ]
    lines = [
        f"### Startup: launch to first answer ({args.runs} runs each, after a warm-up run)",
        "",
        table(headers, rows, right=range(1, 7)),
        "",
        f"Targets: first answer < {TARGET_S * 1000:.0f} ms and at most {TARGET_RATIO}x BM25's: "
        f"**{'met' if time_ok else 'MISSED'}** ({first * 1000:.0f} ms, "
        f"{first / bm25:.2f}x BM25's {bm25 * 1000:.0f} ms); peak RSS < 100 MB: "
        f"**{'met' if memory_ok else 'MISSED'}** ({peak / 1e6:.1f} MB). The bot's answer "
        "includes checking every knowledge file's digest and reading the cached engine. "
        "Peak RSS is the child's ru_maxrss, which "
        f"cannot read below its launcher's ({floor / 1e6:.1f} MB). MB = 10^6 bytes.",
        "",
        "Where the start-up goes, in-process after the imports (median of 5):",
        "",
        table(["Stage", "ms"], stages(args.question), right=(1,)),
        "",
        machine() + ".",
    ]
    emit("\n".join(lines), args.out)
    return 1 if args.check and not (time_ok and memory_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
