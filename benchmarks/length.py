"""Cost of one message against its length, lexical path and whole reply, in process.

Usage: python -m benchmarks.length [--count 1500] [--seed 1] [--plot] [--no-pin] [--out FILE]

Messages of every length up to 4,096 characters (Telegram's longest), of two kinds:
- natural: the development sets' questions as they are, then wrapped in chatty context up
  to a drawn length (greetings and everyday sentences from ``chatterbot-corpus`` before the
  question, as people write long messages);
- hostile: ``benchmarks.hostile``'s generated families (emoji, right-to-left, combining
  marks, control characters, long words, the knowledge base's own words, ...).
Each message is timed in CPU time (``thread_time_ns``: on an idle core the same as the
wall time, and far less disturbed by other work on the machine; one core, after a warm-up)
on two paths: the
lexical matcher alone (``Index.match``: what decides when the meaning model is not needed)
and the whole reply (``reply_to`` + HTML, plain and JSON rendering), meaning model included
where the engine consults it. Reported per length band: p50, p99 and worst. ``--plot``
draws both against length into ``docs/latency_vs_length.png``.

Targets (issue 14), lexical path: p99 at most 0.3 ms up to 100 characters, at most 2 ms up
to 300, and no message up to 4,096 above 10 ms; the whole reply with the model: p99 at most
50 ms up to 100 characters (the engine issue's budget).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import corpora, hostile
from benchmarks.common import (
    DOCS,
    ROOT,
    emit,
    load_project,
    machine,
    percentile,
    pin_unless,
    table,
)
from benchmarks.fit_decision import DEVELOPMENT
from bot.engine import Engine
from bot.evaluation import load_cases
from bot.gc_freeze import settle

BANDS = ((1, 100), (101, 300), (301, 1000), (1001, 4096))
LEXICAL_P99_MS = {100: 0.3, 300: 2.0}
LEXICAL_WORST_MS = 10.0
WHOLE_P99_MS = 50.0


def natural(count: int, rng: random.Random) -> list[str]:
    """Development questions, and the same wrapped in everyday sentences to drawn lengths."""
    questions = list(dict.fromkeys(c.question for p in DEVELOPMENT for c in load_cases(ROOT / p)))
    chatter = corpora.chatterbot("english")
    out = rng.sample(questions, min(count // 2, len(questions)))
    while len(out) < count:
        question, size = rng.choice(questions), rng.randint(100, hostile.MAX_TEXT)
        context: list[str] = []
        while sum(len(c) + 1 for c in context) + len(question) < size:
            context.append(rng.choice(chatter))
        out.append((" ".join(context) + " " + question)[-hostile.MAX_TEXT :])
    return out


def band(length: int) -> str:
    return next(f"{low:,}-{high:,}" for low, high in BANDS if length <= high)


def measure(engine: Engine, messages: Sequence[str]) -> list[tuple[int, int, int]]:
    """(length, lexical ns, whole-reply ns) per message, CPU time."""
    out = []
    for message in messages:
        started = time.thread_time_ns()
        engine.index.match(message)
        lexical = time.thread_time_ns() - started
        started = time.thread_time_ns()
        hostile.reply_all_ways(engine, message, None)
        out.append((len(message), lexical, time.thread_time_ns() - started))
    return out


def plot(results: dict[str, list[tuple[int, int, int]]], path: Path) -> None:
    """Both paths' time against message length, log y-axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for kind, marker in (("natural", "o"), ("hostile", "x")):
        rows = results[kind]
        for column, route in ((2, "whole reply"), (1, "lexical path")):
            ax.scatter(
                [r[0] for r in rows],
                [r[column] / 1e6 for r in rows],
                s=6,
                marker=marker,
                alpha=0.4,
                label=f"{route}, {kind}",
            )
    ax.axhline(LEXICAL_WORST_MS, color="grey", linestyle="--", label="lexical bound (10 ms)")
    ax.axhline(WHOLE_P99_MS, color="black", linestyle=":", label="whole-reply p99 budget")
    ax.set_yscale("log")
    ax.set_xlabel("message length (characters)")
    ax.set_ylabel("time per message (ms, log scale)")
    ax.set_title("In-process cost against message length (article knowledge base, one core)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, markerscale=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def report(results: dict[str, list[tuple[int, int, int]]]) -> tuple[str, bool]:
    """The Markdown table per kind and band, and whether every target holds."""
    rows, ok = [], True
    every = [r for rs in results.values() for r in rs]
    for kind, data in (*results.items(), ("all", every)):
        for low, high in BANDS:
            inside = [r for r in data if low <= r[0] <= high]
            if not inside:
                continue
            lexical = [r[1] for r in inside]
            whole = [r[2] for r in inside]
            rows.append(
                [
                    kind,
                    band(low),
                    f"{len(inside):,}",
                    f"{percentile(lexical, 50) / 1e6:.3f}",
                    f"{percentile(lexical, 99) / 1e6:.3f}",
                    f"{max(lexical) / 1e6:.2f}",
                    f"{percentile(whole, 50) / 1e6:.2f}",
                    f"{percentile(whole, 99) / 1e6:.2f}",
                    f"{max(whole) / 1e6:.1f}",
                ]
            )
    lines = []
    for high, target in LEXICAL_P99_MS.items():
        values = [r[1] for r in every if r[0] <= high]
        p99 = percentile(values, 99) / 1e6
        met = p99 <= target
        ok &= met
        lines.append(
            f"- lexical path up to {high} characters: p99 {p99:.3f} ms (target {target} ms: "
            f"**{'met' if met else 'missed'}**)"
        )
    worst = max(every, key=lambda r: r[1])
    met = worst[1] / 1e6 <= LEXICAL_WORST_MS
    ok &= met
    lines.append(
        f"- lexical path, worst of all: {worst[1] / 1e6:.2f} ms (a {worst[0]:,}-character "
        f"message; bound {LEXICAL_WORST_MS:.0f} ms: **{'met' if met else 'missed'}**)"
    )
    short = [r[2] for r in every if r[0] <= 100]
    p99 = percentile(short, 99) / 1e6
    met = p99 <= WHOLE_P99_MS
    ok &= met
    lines.append(
        f"- whole reply up to 100 characters, meaning model included: p99 {p99:.1f} ms "
        f"(budget {WHOLE_P99_MS:.0f} ms: **{'met' if met else 'missed'}**); over all lengths "
        f"p99 {percentile([r[2] for r in every], 99) / 1e6:.1f} ms, worst "
        f"{max(r[2] for r in every) / 1e6:.1f} ms (no target: up to four parts of a long "
        "message are embedded, each cut to 48 words and 300 characters)"
    )
    headers = [
        "messages",
        "characters",
        "n",
        "lexical p50 ms",
        "lexical p99 ms",
        "lexical max ms",
        "whole p50 ms",
        "whole p99 ms",
        "whole max ms",
    ]
    return table(headers, rows, right=range(2, 9)) + "\n\n" + "\n".join(lines), ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1500, help="messages of each kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plot", action="store_true", help="write docs/latency_vs_length.png")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args(argv)

    pinned = pin_unless(args.no_pin)
    kb, matching = load_project()
    engine = Engine.build(kb, matching)
    settle()
    rng = random.Random(args.seed)
    vocabulary = sorted({w for f in kb.facts for q in f.questions for w in q.split()})
    messages = {
        "natural": natural(args.count, rng),
        "hostile": [q for _, q in hostile.questions(args.count, args.seed, vocabulary)],
    }
    measure(engine, messages["natural"][:50] + messages["hostile"][:50])  # warm-up
    results = {kind: measure(engine, found) for kind, found in messages.items()}
    text, ok = report(results)
    emit(
        f"### Cost against message length (`python -m benchmarks.length --count {args.count} "
        f"--seed {args.seed}`)\n\n{text}\n\n{machine()}; {pinned}.",
        args.out,
    )
    if args.plot:
        plot(results, DOCS / "latency_vs_length.png")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
