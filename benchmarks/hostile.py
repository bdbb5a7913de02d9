"""Worst-case and p99 time of the whole reply path on hostile questions.

    python -m benchmarks.hostile [--count 3000] [--seed 1] [--bound-ms 50]

Generates ``--count`` questions (seeded, so every run sees the same ones) of up to 4,096
characters -- Telegram's longest message -- from the same families as the property tests of
``tests/test_hostile.py``: emoji sequences, right-to-left scripts and direction overrides,
combining marks, zero-width and control characters, full-width letters, HTML- and
Markdown-looking text, very long words, punctuation only, the knowledge base's own words
(the matcher's slowest case: every word is a candidate), arbitrary Unicode, and mixtures.
For each it times ``reply_to`` + ``render_html`` + ``render_plain`` + ``to_json`` (what the
bot and the CLI do per question) on one core, after a warm-up, and prints a Markdown table
per family and one line for the README. The tests assert correctness only; this measures
time, which depends on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import DEFAULT_CONFIG, cpu_name, load_project, percentile
from bot.engine import Engine
from bot.render_html import render_html
from bot.render_json import to_json
from bot.render_plain import render_plain
from bot.replies import reply_to

MAX_TEXT = 4096
HINTS = (None, "en", "tr", "az", "ru", "ru-RU", "de")

EMOJI = [
    "🇦🇿",
    "🇹🇷",
    "👍🏽",
    "👨\u200d👩\u200d👧\u200d👦",
    "🏳️\u200d🌈",
    "❤️",
    "🧑🏿\u200d💻",
    "\ufe0f",
]
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u2062\u034f"
CONTROLS = "".join(map(chr, [*range(0, 32), *range(127, 160)])) + "\u2028\u2029\u0085"
DIRECTION = "\u202e\u202b\u202a\u202d\u2067\u2069\u200f\u061c"
PUNCTUATION = string.punctuation + "¡¿…—–«»“”‘’•·§¶†‡‰′″‹›※‼⁇⁈¨´`"  # noqa: RUF001 - look-alikes on purpose
HTML_LIKE = [
    "<b>",
    "</i>",
    '<a href="javascript:alert(1)">',
    "&amp;",
    "&#x3C;",
    "&",
    "<",
    ">",
    "<!--",
    "<![CDATA[",
    "<tg-spoiler>",
    "<script>alert(1)</script>",
    "&unknown;",
]
MARKDOWN_LIKE = ["*bold*", "_it_", "`code`", "```\nx\n```", "[a](http://x)", "||s||", "~s~", "\\"]


def _span(rng: random.Random, low: int, high: int, size: int) -> str:
    return "".join(chr(rng.randint(low, high)) for _ in range(size))


def _words(rng: random.Random, vocabulary: list[str], size: int) -> str:
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(vocabulary)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)[:size]


def families(vocabulary: list[str]) -> dict[str, Callable[[random.Random, int], str]]:
    """Generators of hostile text: (random source, target length) -> text."""
    return {
        "emoji": lambda r, n: "".join(r.choice(EMOJI) for _ in range(n // 4)),
        "right-to-left": lambda r, n: (
            _span(r, 0x0590, 0x06FF, n) + "".join(r.choice(DIRECTION) for _ in range(8))
        ),
        "combining marks": lambda r, n: "".join(
            r.choice(string.ascii_letters) + _span(r, 0x0300, 0x036F, r.randint(1, 30))
            for _ in range(n // 16)
        ),
        "zero-width/control": lambda r, n: "".join(
            r.choice(ZERO_WIDTH + CONTROLS) for _ in range(n)
        ),
        "full-width": lambda r, n: _span(r, 0xFF01, 0xFF5E, n),
        "HTML/Markdown-like": lambda r, n: "".join(
            r.choice(HTML_LIKE + MARKDOWN_LIKE) + " " for _ in range(n // 6)
        ),
        "very long word": lambda r, n: "".join(r.choice(string.ascii_lowercase) for _ in range(n)),
        "punctuation only": lambda r, n: "".join(r.choice(PUNCTUATION) for _ in range(n)),
        "knowledge words": lambda r, n: _words(r, vocabulary, n),
        "Knowledge Words (capitalised)": lambda r, n: _words(
            r, [w.capitalize() for w in vocabulary], n
        ),
        "misspelt knowledge words": lambda r, n: _words(r, [w[::-1] + "x" for w in vocabulary], n),
        "arbitrary Unicode": lambda r, n: "".join(
            chr(c) for c in (r.randint(32, 0x2FFFF) for _ in range(n)) if not 0xD800 <= c < 0xE000
        ),
        "mixture": lambda r, n: "".join(
            r.choice(
                [
                    r.choice(EMOJI),
                    r.choice(HTML_LIKE),
                    r.choice(vocabulary) + " ",
                    r.choice(ZERO_WIDTH),
                    _span(r, 0x0300, 0x036F, 3),
                    _span(r, 0x0600, 0x06FF, 5),
                    r.choice(PUNCTUATION),
                ]
            )
            for _ in range(n // 3)
        ),
    }


def questions(count: int, seed: int, vocabulary: list[str]) -> list[tuple[str, str]]:
    """``count`` (family, question) pairs; lengths from 1 to 4,096, a third at the maximum."""
    rng = random.Random(seed)
    makers = families(vocabulary)
    names = sorted(makers)
    out = []
    for i in range(count):
        name = names[i % len(names)]
        size = MAX_TEXT if rng.random() < 1 / 3 else rng.randint(1, MAX_TEXT)
        out.append((name, makers[name](rng, size)[:MAX_TEXT]))
    return out


def reply_all_ways(engine: Engine, question: str, hint: str | None) -> None:
    """The whole reply path of one question: the reply, rendered as HTML, text and JSON."""
    reply = reply_to(engine, question, hint)
    render_html(reply)
    render_plain(reply)
    json.dumps(to_json(reply), ensure_ascii=False)


def one(engine: Engine, question: str, hint: str | None) -> int:
    """Nanoseconds for the whole reply path of one question."""
    started = time.perf_counter_ns()
    reply_all_ways(engine, question, hint)
    return time.perf_counter_ns() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000, help="questions (default 3000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bound-ms", type=float, default=50.0, help="the bound (default 50 ms)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    args = parser.parse_args(argv)

    kb, matching = load_project(args.config)
    engine = Engine.build(kb, matching)
    vocabulary = sorted({w for f in kb.facts for q in f.questions for w in q.split()})
    cases = questions(args.count, args.seed, vocabulary)
    hints = random.Random(args.seed + 1)
    for _, question in cases[:50]:  # warm-up: caches, lazy imports
        one(engine, question, None)

    times: dict[str, list[int]] = {}
    worst = (0, "", 0)
    failures = 0
    for name, question in cases:
        try:
            elapsed = one(engine, question, hints.choice(HINTS))
        except Exception as exc:  # counted and shown, never hidden
            failures += 1
            print(f"FAILED on a {name} question: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        times.setdefault(name, []).append(elapsed)
        if elapsed > worst[0]:
            worst = (elapsed, name, len(question))
    every = [t for values in times.values() for t in values]

    def row(label: str, values: list[int]) -> str:
        return (
            f"| {label} | {len(values):,} | {percentile(values, 50) / 1e6:.2f} | "
            f"{percentile(values, 99) / 1e6:.2f} | {max(values) / 1e6:.2f} |"
        )

    print(f"Hostile questions: {len(cases):,}, seed {args.seed}, up to {MAX_TEXT:,} characters")
    print(f"{cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}\n")
    print("| family | questions | p50 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in sorted(times):
        print(row(name, times[name]))
    print(row("**all**", every))
    print()
    p99, top = percentile(every, 99) / 1e6, worst[0] / 1e6
    verdict = "within" if top <= args.bound_ms else "OVER"
    print(
        f"Hostile input ({len(cases):,} generated questions of up to 4,096 characters, seed "
        f"{args.seed}; reply, HTML, plain text and JSON): p99 {p99:.1f} ms, worst {top:.1f} ms "
        f"(a {worst[2]:,}-character {worst[1]} question) -- {verdict} the {args.bound_ms:.0f} ms "
        f"bound; {failures} exceptions. {cpu_name()}, Python {platform.python_version()}."
    )
    print(f"\nCommand: python -m benchmarks.hostile --count {args.count} --seed {args.seed}")
    return 1 if failures or top > args.bound_ms else 0


if __name__ == "__main__":
    sys.exit(main())
