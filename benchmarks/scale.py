"""Latency and memory of the matcher on synthetic knowledge bases of growing size.

Usage: python -m benchmarks.scale [--sizes 1000 10000 100000] [--per-fact 13] [--queries 400]
                                  [--rounds N] [--plot [docs/latency_vs_size.png]]
                                  [--validate] [--no-freeze] [--profile SIZE] [--check]
                                  [--out FILE]

Each size (a number of question phrasings) runs in a fresh child process pinned to one CPU,
so its memory figures are its own. The child generates a knowledge base in memory
(``bot.knowledge_model`` dataclasses, built directly), indexes it with ``bot.engine.Engine``
and answers a mix of generated questions with ``reply_to``, each call timed alone with
``time.perf_counter_ns`` (after 50 warm-up questions; ``--rounds`` passes, by default 3 up to
10,000 phrasings and 1 above, to finish in a few minutes).

The generator imitates knowledge/facts.yaml at scale: ``--per-fact`` question phrasings per
fact (13, as in the article's file), about 5 words each, asked with wh-templates about a
fact's topic words, a person's name and often a number (a year or an amount); keywords,
an answer, and a quote that is a sentence of a generated article; the article's stopwords
and small talk; aliases (spelling variants) and unanswerable examples. Words are
pseudo-words from syllables, drawn Zipf-like from a vocabulary that grows with the knowledge
base by Heaps' law (about 2,900 words at 1,000 phrasings, 36,000 at 100,000). The questions:
45% rephrase a fact (a third of those with a typo), 20% mix two facts (near misses), 20%
use words the base never does (off-topic), 15% small talk, plus a few long off-topic
messages (0.5%, as in tests/data/questions.yaml).

Memory: ``tracemalloc`` peak while building the index (on a second, traced build), the
index's retained size, and the process RSS (psutil) after building, with its peak
(``ru_maxrss``). ``--validate`` also renders the base as YAML and loads it with
``bot.knowledge_parse.parse_knowledge`` (refused past the loader's limits: 2,000 facts).
After building, the index is frozen out of garbage collection with ``bot.gc_freeze.settle()``,
as the bot does; ``--no-freeze`` leaves it to the collector, to show what its full passes
over a large index cost. ``--plot`` draws median and
p99 latency against size (log x) to a PNG. ``--profile SIZE`` runs cProfile over the
questions at that size instead and prints where the time goes.
Target: p99 <= 10 ms at 100,000 phrasings (issue 14; issue 9 asked 20 ms; ``--check`` exits 1
when missed).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import math
import pstats
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from types import MappingProxyType
from typing import Any

from benchmarks.common import (
    DEFAULT_CONFIG,
    DOCS,
    ROOT,
    emit,
    load_project,
    machine,
    median,
    mib,
    ms,
    percentile,
    pin_to_one_core,
    table,
)
from bot.engine import Engine
from bot.gc_freeze import settle
from bot.knowledge_model import Fact, KnowledgeBase, Source
from bot.knowledge_parse import parse_knowledge
from bot.language import labels_by_language
from bot.normalise import fold, tokenize
from bot.replies import reply_to

TARGET_P99_NS = 10_000_000
TARGET_SIZE = 100_000
_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "br",
    "tr",
    "st",
    "ch",
    "sh",
    "kr",
    "pl",
    "gr",
    "dr",
]
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "ou"]
_CODAS = ["", "", "", "", "", "n", "r", "s", "t", "l", "nd", "st", "m"]
# Off-topic words come from a disjoint inventory (every syllable starts with x, q or y).
_FOREIGN_ONSETS = ["x", "q", "y", "xh", "qu", "yl"]
_TEMPLATES = (  # wh-words about as often as in knowledge/facts.yaml ("what" in ~30%)
    "what did {name} say about the {a} {b}",
    "what is the {a} {b} {c}",
    "what was the {a} {b} in {num}",
    "what happened with the {a} {b}",
    "who {a} the {b} {c}",
    "who is the {a} of {b}",
    "when was the {a} {b}",
    "how much {a} {b} in {num}",
    "which {a} did {name} {b}",
    "why did {name} {a} the {b}",
    "where is the {a} {b} {c}",
    "is it true that {name} {a} {b} {c}",
    "{a} {b}?",
    "{name} {a}?",
)
_FILLERS = ["the", "a", "of", "in", "on", "for", "with", "and", "to", "by", "at", "from"]


def heaps_vocabulary(phrasings: int) -> int:
    """Distinct words for a base of this many phrasings (Heaps' law on ~4 words each)."""
    return round(30.0 * math.pow(4 * phrasings, 0.55))


class Words:
    """Pseudo-words from syllables, and Zipf-like sampling from a vocabulary of them."""

    def __init__(self, rng: random.Random, size: int, avoid: frozenset[str]) -> None:
        self.rng = rng
        found: dict[str, None] = {}
        while len(found) < size:
            word = self.make(_ONSETS, rng.choice((1, 2, 2, 2, 3)))
            if word not in avoid and len(word) > 2:
                found[word] = None
        self.vocab = list(found)
        self.cum = list(accumulate(1.0 / (rank + 1) ** 1.05 for rank in range(size)))

    def make(self, onsets: Sequence[str], syllables: int) -> str:
        rng = self.rng
        return "".join(
            rng.choice(onsets) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
        )

    def zipf(self, k: int = 1) -> list[str]:
        """``k`` words, frequent ones far more often than rare ones."""
        return self.rng.choices(self.vocab, cum_weights=self.cum, k=k)

    def uniform(self, k: int = 1) -> list[str]:
        """``k`` distinct words, any word equally likely (a fact's distinctive words)."""
        return self.rng.sample(self.vocab, k)

    def foreign(self) -> str:
        """A word the knowledge base never uses."""
        return self.make(_FOREIGN_ONSETS, self.rng.choice((2, 3)))


@dataclass(slots=True)
class Topic:
    """What one generated fact is about."""

    name: str
    words: list[str]
    number: str | None


def typo(rng: random.Random, text: str) -> str:
    """``text`` with one letter of one longer word deleted, doubled or swapped."""
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:j] + w[j + 1 :]
    elif kind == 1:
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
    words[i] = w
    return " ".join(words)


class Generator:
    """A synthetic knowledge base of ``phrasings`` questions, and questions to ask it."""

    def __init__(
        self, phrasings: int, per_fact: int, template: KnowledgeBase, seed: int = 1
    ) -> None:
        self.rng = random.Random(seed)
        self.template = template
        self.facts_count = max(1, math.ceil(phrasings / per_fact))
        self.phrasings = phrasings
        self.per_fact = per_fact
        avoid = frozenset(template.stopwords) | frozenset(_FILLERS)
        self.words = Words(self.rng, heaps_vocabulary(phrasings), avoid)
        people = max(10, self.facts_count // 3)
        self.people = [
            f"{self.words.make(_ONSETS, 2).title()} {self.words.make(_ONSETS, 3).title()}"
            for _ in range(people)
        ]
        self.topics = [self.topic() for _ in range(self.facts_count)]

    def topic(self) -> Topic:
        rng = self.rng
        number = None
        if rng.random() < 0.4:
            number = (
                str(rng.randint(1990, 2035))
                if rng.random() < 0.6
                else f"{rng.randint(1, 99)}.{rng.randint(1, 9)}"
            )
        extra = min(6, self.per_fact // 10)
        chosen = self.words.zipf(2) + self.words.uniform(3 + extra)
        return Topic(rng.choice(self.people), list(dict.fromkeys(chosen)), number)

    def ask(self, topic: Topic, noise: float = 0.25) -> str:
        """One question about ``topic`` from a template; sometimes with an unrelated word."""
        rng = self.rng
        picked = rng.sample(topic.words, min(3, len(topic.words)))
        if rng.random() < noise:
            picked[rng.randrange(len(picked))] = self.words.zipf()[0]
        name = topic.name if rng.random() < 0.5 else topic.name.split()[-1]
        text = rng.choice(_TEMPLATES).format(
            name=name,
            a=picked[0],
            b=picked[1 % len(picked)],
            c=picked[2 % len(picked)],
            num=topic.number or rng.choice(topic.words),
        )
        if rng.random() < 0.5:
            text = text[0].upper() + text[1:]
        if not text.endswith("?") and rng.random() < 0.6:
            text += "?"
        return text

    def sentence(self, topic: Topic) -> str:
        """The article sentence that states ``topic``."""
        rng = self.rng
        parts: list[str] = [topic.name]
        for word in topic.words:
            parts.append(word)
            if rng.random() < 0.5:
                parts.append(rng.choice(_FILLERS))
        # Context words: a real quote has ~15 words, of which the question names a few.
        for word in self.words.zipf(rng.randint(4, 8)):
            parts.extend([rng.choice(_FILLERS), word])
        if topic.number:
            parts.extend(["in", topic.number])
        return " ".join(parts) + "."

    def build(self) -> KnowledgeBase:
        """The knowledge base, built directly as dataclasses (no YAML)."""
        rng = self.rng
        facts: list[Fact] = []
        sentences: list[str] = []
        remaining = self.phrasings
        for index, topic in enumerate(self.topics):
            want = min(self.per_fact, remaining - (self.facts_count - index - 1))
            remaining -= want
            questions: dict[str, str] = {}
            attempts = 0
            while len(questions) < want:
                attempts += 1
                text = self.ask(topic, noise=0.25 if attempts < 20 * want else 1.0)
                if attempts > 40 * want:
                    text += " " + self.words.uniform(1)[0]
                key = " ".join(tokenize(fold(text)))
                questions.setdefault(key, text)
            sentence = self.sentence(topic)
            sentences.append(sentence)
            keywords = {" ".join(rng.sample(topic.words, rng.choice((1, 2)))) for _ in range(4)}
            facts.append(
                Fact(
                    id=f"fact_{index:05d}",
                    questions=tuple(questions.values()),
                    answer=f"{topic.name} {' '.join(topic.words[:4])}.",
                    quote=sentence,
                    keywords=tuple(sorted(keywords)),
                    labels=MappingProxyType(labels_by_language(tuple(questions.values()), {})),
                )
            )
        paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
        aliases: dict[str, tuple[str, ...]] = {}
        for word in self.words.vocab[: max(5, len(self.words.vocab) // 50)]:
            variant = typo(rng, word) if len(word) >= 5 else word + "s"
            if variant != word and variant not in aliases:
                aliases[word] = (variant,)
        unanswerable = tuple(
            dict.fromkeys(
                self.ask(rng.choice(self.topics), noise=0.0) + " " + self.words.foreign()
                for _ in range(max(1, self.phrasings // 8))
            )
        )
        return KnowledgeBase(
            source=Source("Synthetic article", "benchmarks.scale", "generator", "2024-01-01"),
            facts=tuple(facts),
            article="\n\n".join(paragraphs),
            aliases=MappingProxyType(aliases),
            stopwords=self.template.stopwords,
            chit_chat=self.template.chit_chat,
            unanswerable=unanswerable,
            examples=tuple(f.id for f in facts[:3]),
        )

    def questions(self, count: int) -> list[tuple[str, str]]:
        """``count`` (kind, question) pairs: rephrasings, near misses, off-topic, small talk."""
        rng = self.rng
        talk = [t for texts in self.template.chit_chat.values() for t in texts]
        out: list[tuple[str, str]] = []
        long_every = 200
        for n in range(count):
            roll = rng.random()
            if n % long_every == long_every - 1:
                words = [self.words.foreign() for _ in range(30)] + self.words.zipf(15)
                rng.shuffle(words)
                out.append(("long", "so " + " ".join(words) + ", what do you think?"))
            elif roll < 0.45:
                text = self.ask(rng.choice(self.topics))
                out.append(("rephrased", typo(rng, text) if rng.random() < 1 / 3 else text))
            elif roll < 0.65:
                a, b = rng.sample(self.topics, 2)
                mixed = Topic(b.name, a.words[:2] + b.words[2:], a.number)
                out.append(("near miss", self.ask(mixed, noise=0.0)))
            elif roll < 0.85:
                words = [self.words.foreign() for _ in range(rng.randint(2, 4))]
                out.append(("off-topic", f"what is the {' '.join(words)}?"))
            else:
                out.append(("small talk", rng.choice(talk)))
        return out


def to_yaml(kb: KnowledgeBase) -> str:
    """The knowledge base as a knowledge file (for ``--validate``)."""
    import yaml

    data: dict[str, Any] = {
        "version": 1,
        "aliases": {k: list(v) for k, v in kb.aliases.items()},
        "stopwords": sorted(kb.stopwords),
        "chit_chat": {k: list(v) for k, v in kb.chit_chat.items()},
        "unanswerable": list(kb.unanswerable),
        "facts": [
            {
                "id": f.id,
                "questions": list(f.questions),
                "keywords": list(f.keywords),
                "answer": f.answer,
                "quote": f.quote,
            }
            for f in kb.facts
        ],
    }
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def rss_bytes() -> int:
    """The process's resident set size now."""
    import psutil

    return int(psutil.Process().memory_info().rss)


def maxrss_bytes() -> int:
    """The process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(
    size: int, per_fact: int, queries: int, rounds: int, validate: bool, freeze: bool
) -> dict[str, Any]:
    """Measure one size in this process; returns the numbers as a JSON-able dict."""
    pinned = pin_to_one_core()
    template, settings = load_project(DEFAULT_CONFIG)
    rss_start = rss_bytes()
    start = time.perf_counter()
    generator = Generator(size, per_fact, template)
    kb = generator.build()
    asked = generator.questions(queries)
    generate_s = time.perf_counter() - start
    result: dict[str, Any] = {
        "size": size,
        "facts": len(kb.facts),
        "phrasings": kb.phrasing_count,
        "keywords": sum(len(f.keywords) for f in kb.facts),
        "unanswerable": len(kb.unanswerable),
        "article_bytes": len(kb.article.encode()),
        "generate_s": generate_s,
        "pinned": pinned,
    }
    if validate:
        text = to_yaml(kb)
        start = time.perf_counter()
        try:
            parse_knowledge(text, kb.article, "<generated>")
            result["validate"] = f"accepted in {time.perf_counter() - start:.1f} s"
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            result["validate"] = f"refused: {first}"
        result["yaml_bytes"] = len(text.encode())
        del text
    gc.collect()
    rss_kb = rss_bytes()
    start = time.perf_counter_ns()
    engine = Engine.build(kb, settings)
    result["build_ms"] = (time.perf_counter_ns() - start) / 1e6
    if freeze:
        settle()
    result["gc"] = "index frozen out of gc, as in the bot" if freeze else "index left to gc"
    result["vocabulary"] = len(engine.index.lookup.vocab)
    result["entries"] = len(engine.index.scorer.entries)
    gc.collect()
    result["rss_kb_mib"] = (rss_kb - rss_start) / 2**20
    result["rss_index_mib"] = (rss_bytes() - rss_kb) / 2**20

    for _, q in asked[:50]:
        reply_to(engine, q)
    gc.collect()
    clock = time.perf_counter_ns
    cpu_clock = time.thread_time_ns
    samples: dict[str, list[int]] = {}
    cpu: list[int] = []
    for _ in range(rounds):
        for kind, q in asked:
            cpu_begin = cpu_clock()
            begin = clock()
            reply_to(engine, q)
            end = clock()
            cpu.append(cpu_clock() - cpu_begin)
            samples.setdefault(kind, []).append(end - begin)
    everything = [t for ts in samples.values() for t in ts]
    result["cpu_p99_ns"] = percentile(cpu, 99)
    result["calls"] = len(everything)
    result["median_ns"] = median(everything)
    result["p99_ns"] = percentile(everything, 99)
    result["max_ns"] = max(everything)
    result["by_kind"] = {
        kind: {"median_ns": median(ts), "p99_ns": percentile(ts, 99), "calls": len(ts)}
        for kind, ts in samples.items()
    }
    result["rss_mib"] = rss_bytes() / 2**20
    result["maxrss_mib"] = max(maxrss_bytes(), rss_bytes()) / 2**20

    # Memory of building the index, traced (slower; done last so it cannot inflate the above).
    gc.collect()
    tracemalloc.start()
    traced = Engine.build(kb, settings)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del traced
    result["index_peak_mib"] = peak / 2**20
    result["index_retained_mib"] = current / 2**20
    return result


def profile(size: int, per_fact: int, queries: int, top: int = 25) -> str:
    """cProfile of answering the generated questions once at ``size``; the top functions."""
    pin_to_one_core()
    template, settings = load_project(DEFAULT_CONFIG)
    generator = Generator(size, per_fact, template)
    kb = generator.build()
    asked = generator.questions(queries)
    engine = Engine.build(kb, settings)
    for _, q in asked[:20]:
        reply_to(engine, q)
    profiler = cProfile.Profile()
    profiler.enable()
    for _, q in asked:
        reply_to(engine, q)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    header = (
        f"cProfile: {len(asked)} questions against {len(kb.facts):,} facts, "
        f"{kb.phrasing_count:,} phrasings, {len(engine.index.lookup.vocab):,} words\n"
    )
    return header + out.getvalue()


def plot(results: Sequence[dict[str, Any]], path: Path) -> None:
    """Median and p99 latency against knowledge base size, log x-axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["phrasings"] for r in results]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    ax.plot(sizes, [r["median_ns"] / 1e6 for r in results], "o-", label="median")
    ax.plot(sizes, [r["p99_ns"] / 1e6 for r in results], "s-", label="p99")
    ax.axhline(
        TARGET_P99_NS / 1e6,
        color="grey",
        linestyle="--",
        label=f"p99 target ({TARGET_P99_NS // 1_000_000} ms)",
    )
    ax.set_xscale("log")
    ax.set_xlabel("question phrasings in the knowledge base (log scale)")
    ax.set_ylabel("latency per question (ms)")
    ax.set_title("In-process latency of reply_to vs knowledge base size (one core)")
    ax.grid(True, which="both", alpha=0.3)
    top = max(r["p99_ns"] for r in results) / 1e6
    ax.set_ylim(0, max(top, TARGET_P99_NS / 1e6) * 1.15)
    ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax.minorticks_off()
    for r in results:
        ax.annotate(
            f"{r['p99_ns'] / 1e6:.1f}",
            (r["phrasings"], r["p99_ns"] / 1e6),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=8,
        )
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def report(results: Sequence[dict[str, Any]], per_fact: int) -> str:
    """The Markdown tables."""
    main_rows = [
        [
            f"{r['phrasings']:,}",
            f"{r['facts']:,}",
            f"{r['vocabulary']:,}",
            f"{r['build_ms'] / 1000:.2f}",
            ms(r["median_ns"]),
            ms(r["p99_ns"]),
            ms(r["cpu_p99_ns"]),
            ms(r["max_ns"]),
            mib(r["index_peak_mib"] * 2**20),
            mib(r["index_retained_mib"] * 2**20),
            f"{r['rss_mib']:.0f}",
            f"{r['maxrss_mib']:.0f}",
        ]
        for r in results
    ]
    headers = [
        "Phrasings",
        "Facts",
        "Words",
        "Build s",
        "Median ms",
        "p99 ms",
        "CPU p99 ms",
        "Max ms",
        "Index peak MiB",
        "Index kept MiB",
        "RSS MiB",
        "Peak RSS MiB",
    ]
    kinds = ["rephrased", "near miss", "off-topic", "small talk", "long"]
    kind_rows = [
        [f"{r['phrasings']:,}"]
        + [
            f"{ms(r['by_kind'][k]['median_ns'])} / {ms(r['by_kind'][k]['p99_ns'])}"
            if k in r["by_kind"]
            else "-"
            for k in kinds
        ]
        for r in results
    ]
    target = next((r for r in results if r["phrasings"] >= TARGET_SIZE), None)
    verdict = ""
    if target is not None:
        met = target["p99_ns"] <= TARGET_P99_NS
        verdict = (
            f"Target p99 <= {TARGET_P99_NS // 1_000_000} ms at {TARGET_SIZE:,} phrasings: "
            f"**{'met' if met else 'MISSED'}** "
            f"(p99 {ms(target['p99_ns'])} ms). "
        )
    first = results[0]
    notes = [
        f"### Latency and memory vs knowledge base size ({first['pinned']}, {first['gc']}; "
        "timed reply_to "
        f"calls: {', '.join(format(r['calls'], ',') for r in results)})",
        "",
        table(headers, main_rows, right=range(0, 12)),
        "",
        verdict
        + f"{per_fact} phrasings per fact, plus about 4 keywords; unanswerable examples: "
        + ", ".join(f"{r['unanswerable']:,}" for r in results)
        + ". Latency is wall clock; CPU p99 counts only the thread's CPU time (a wall p99 far "
        "above it means other processes took the core). Build: Engine.build, untraced. "
        "Index peak/kept: tracemalloc peak and retained size of a second, traced build. RSS: "
        "whole process (interpreter, knowledge base and index) after answering; peak RSS "
        "before the traced build.",
        "",
        "Median / p99 ms by kind of question:",
        "",
        table(["Phrasings", *kinds], kind_rows, right=range(0, 6)),
    ]
    if any("validate" in r for r in results):
        notes += [
            "",
            "Loaded through parse_knowledge: "
            + "; ".join(
                f"{r['phrasings']:,}: {r['validate']} ({r['yaml_bytes'] / 2**20:.1f} MiB YAML)"
                for r in results
            )
            + ".",
        ]
    notes += ["", machine() + " (each size in its own process, pinned to one core)."]
    return "\n".join(notes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--per-fact", type=int, default=13, help="phrasings per fact")
    parser.add_argument("--queries", type=int, default=400, help="generated questions")
    parser.add_argument(
        "--rounds", type=int, help="timed passes over them (default 3, 1 above 10,000)"
    )
    parser.add_argument(
        "--plot",
        nargs="?",
        type=Path,
        const=DOCS / "latency_vs_size.png",
        help="write the latency chart (default docs/latency_vs_size.png)",
    )
    parser.add_argument("--validate", action="store_true", help="load via parse_knowledge too")
    parser.add_argument(
        "--no-freeze", action="store_true", help="leave the index to the garbage collector"
    )
    parser.add_argument("--profile", type=int, metavar="SIZE", help="cProfile one size instead")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child is not None:
        result = child(
            args.child, args.per_fact, args.queries, args.rounds, args.validate, not args.no_freeze
        )
        print(json.dumps(result))
        return 0
    if args.profile is not None:
        print(profile(args.profile, args.per_fact, args.queries))
        return 0

    results: list[dict[str, Any]] = []
    for size in args.sizes:
        command = [
            sys.executable,
            "-m",
            "benchmarks.scale",
            "--child",
            str(size),
            "--per-fact",
            str(args.per_fact),
            "--queries",
            str(args.queries),
            "--rounds",
            str(args.rounds or (3 if size <= 10_000 else 1)),
        ]
        if args.validate:
            command.append("--validate")
        if args.no_freeze:
            command.append("--no-freeze")
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"size {size:,}: done in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    emit(report(results, args.per_fact), args.out)
    if args.plot is not None:
        plot(results, args.plot)
        print(f"\nChart: {args.plot.resolve().relative_to(ROOT)}")
    target = next((r for r in results if r["phrasings"] >= TARGET_SIZE), None)
    missed = target is not None and target["p99_ns"] > TARGET_P99_NS
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
