"""Whole-process batch: 6,000 mixed questions through the bot and its baselines, same run.

Usage: python -m benchmarks.batch [--lines 6000] [--runs 3] [--torch-python PYTHON]
                                  [--share-every 4] [--out FILE]

The mixed questions (``mixed``): every question of the development sets (article questions,
near misses, off-topic and chit-chat cases in four languages), then off-topic trivia
(``red-trivia``) and everyday conversational messages (``chatterbot-corpus``, English and
Russian), a third of the lines each, shuffled with a fixed seed. Each system reads them one
per line on stdin and writes one JSON line per question:
- ``bot``: ``python -m bot ask --json -`` (engine cache warm, as after any first start);
- ``bm25``: ``python -m benchmarks.bm25 -`` (Okapi BM25 over the article's sentences);
- ``minilm-onnx``: ``python -m benchmarks.minilm -``, all-MiniLM-L6-v2 int8 on onnxruntime;
- ``minilm-torch`` (with ``--torch-python``, an interpreter with sentence-transformers):
  the same model in fp32 through sentence-transformers, what Haystack and Rasa pipelines run.
The systems take turns (``--runs`` rounds, each system once per round, in the same order),
so a change in the machine's load reaches all of them. Measured per process by its parent:
CPU time (user + system, the figure compared), wall time and peak RSS. Checked on every run:
one JSON line per input line, echoing its question, in order, exit status 0.

Then the model's share of the bot's time, in this process: every ``--share-every``-th
question answered by the engine with the meaning model's ``embed`` timed.
Targets (issue 14): with a model, the bot's CPU time at most half the MiniLM baseline's.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from itertools import cycle, islice
from pathlib import Path

from benchmarks import corpora
from benchmarks.common import ROOT, emit, load_project, machine, median, table
from benchmarks.fit_decision import DEVELOPMENT
from benchmarks.proc import Run, bot_command, bytecode_env, run
from benchmarks.throughput import problems
from bot.evaluation import load_cases


def mixed(lines: int = 6000, seed: int = 1) -> list[str]:
    """``lines`` questions: a third from the development sets, a third trivia, a third
    everyday messages (each part cycled if it has too few), shuffled with ``seed``."""
    article = list(dict.fromkeys(c.question for p in DEVELOPMENT for c in load_cases(ROOT / p)))
    rng = random.Random(seed)
    trivia = corpora.red_trivia()
    rng.shuffle(trivia)
    everyday = corpora.chatterbot("english") + corpora.chatterbot("russian")
    third = lines // 3
    out = (
        list(islice(cycle(article), third))
        + list(islice(cycle(everyday), third))
        + list(islice(cycle(trivia), lines - 2 * third))
    )
    rng.shuffle(out)
    # One question per line: a corpus message may hold line breaks (a code snippet).
    return [" ".join(line.split()) for line in out]


def systems(torch_python: str | None) -> dict[str, list[str]]:
    """Each system's command line."""
    python = sys.executable
    found = {
        "bot": bot_command("ask", "--json", "-"),
        "bm25": [python, "-m", "benchmarks.bm25", "-"],
        "minilm-onnx": [python, "-m", "benchmarks.minilm", "-"],
    }
    if torch_python:
        found["minilm-torch"] = [torch_python, "-m", "benchmarks.minilm", "--backend", "torch", "-"]
    return found


def model_share(questions: Sequence[str]) -> tuple[float, float, int]:
    """CPU seconds of the engine over ``questions``, of which in the meaning model's
    ``embed``, and how many texts it embedded."""
    from bot.engine import Engine
    from bot.gc_freeze import settle
    from bot.meaning import E5Embedder
    from bot.replies import reply_to

    kb, settings = load_project()
    engine = Engine.build(kb, settings)
    settle()
    original = E5Embedder.embed
    spent = [0.0, 0]

    def timed(self: E5Embedder, texts: Sequence[str]):  # type: ignore[no-untyped-def]
        start = time.process_time()
        try:
            return original(self, texts)
        finally:
            spent[0] += time.process_time() - start
            spent[1] += len(texts)

    E5Embedder.embed = timed  # type: ignore[method-assign]
    try:
        start = time.process_time()
        for question in questions:
            reply_to(engine, question)
        total = time.process_time() - start
    finally:
        E5Embedder.embed = original  # type: ignore[method-assign]
    return total, float(spent[0]), int(spent[1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--torch-python", help="an interpreter with sentence-transformers")
    parser.add_argument("--share-every", type=int, default=4, help="0: skip the model share")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args(argv)

    inputs = mixed(args.lines)
    commands = systems(args.torch_python)
    env = bytecode_env()
    for command in commands.values():  # warm: engine cache, tokenizer and weights fetched
        run([*command[:-1], "who met whom?"], env=env)
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for round_number in range(1, args.runs + 1):
        for name, command in commands.items():
            result = run(command, inputs, env=env)
            wrong = problems(inputs, result)
            if wrong:
                print(f"FAILED ({name}):\n  " + "\n  ".join(wrong), file=sys.stderr)
                return 1
            runs[name].append(result)
            cpu = result.user_s + result.system_s
            print(f"round {round_number}: {name} {cpu:.1f} s CPU", file=sys.stderr, flush=True)

    def cpu(name: str) -> float:
        return median([r.user_s + r.system_s for r in runs[name]])

    rows = []
    for name in commands:
        rows.append(
            [
                name,
                f"{cpu(name):.1f}",
                f"{median([r.exit_s for r in runs[name]]):.1f}",
                f"{1000 * cpu(name) / len(inputs):.2f}",
                f"{max(r.maxrss_bytes for r in runs[name]) / 2**20:.0f}",
                f"{cpu('bot') / cpu(name):.2f}",
            ]
        )
    headers = ["system", "CPU s", "wall s", "CPU ms / question", "peak RSS MiB", "bot / system"]
    lines = [
        f"### {len(inputs):,} mixed questions, whole process (`python -m benchmarks.batch "
        f"--runs {args.runs}`; medians of {args.runs} alternating runs)",
        "",
        table(headers, rows, right=range(1, 6)),
        "",
    ]
    baselines = [n for n in commands if n.startswith("minilm")]
    for name in baselines:
        ratio = cpu("bot") / cpu(name)
        verdict = "met" if ratio <= 0.5 else "missed"
        lines.append(f"- bot / {name}: {ratio:.2f} (target at most 0.50: **{verdict}**)")
    if args.share_every:
        sample = inputs[:: args.share_every]
        total, embedding, texts = model_share(sample)
        lines.append(
            f"- In process, {len(sample):,} of the questions (every {args.share_every}th): "
            f"{1000 * total / len(sample):.2f} ms CPU per question, of which the meaning "
            f"model {1000 * embedding / len(sample):.2f} ms (**{100 * embedding / total:.0f}%**; "
            f"{texts:,} texts embedded, {texts / len(sample):.2f} per question)."
        )
    lines += ["", machine() + "."]
    emit("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
