"""Sweep the matcher's thresholds and weights on a question set and print the best settings.

Usage: python -m benchmarks.tune tests/data/questions.yaml [--holdout OTHER.yaml] [--top 10]

The objective is the smallest margin above the quality bars (97% answerable, 90% near
misses, 98% off-topic and chit-chat): settings that clear every bar by the most win; ties go
to higher answerable accuracy. With --holdout, each of the top settings is also scored on a
second set it was not chosen on, to show whether the choice generalises.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path

from bot.config import load_settings
from bot.engine import Engine
from bot.evaluation import Report, evaluate, load_cases
from bot.knowledge_load import load_knowledge
from bot.match_settings import MatchSettings

BARS = {"answerable": 0.97, "near_miss": 0.90, "off_topic": 0.98, "chit_chat": 0.98}
GRID = {
    "question_weight": [0.65],
    "fact_word_credit": [0.3],
    "sibling_word_credit": [0.6, 0.75],
    "unexplained_penalty": [0.35, 0.5],
    "unknown_word_penalty": [0.5, 0.65, 0.8],
    "unknown_word_weight": [0.5, 0.7, 0.9, 1.1],
}
THRESHOLDS = {
    "answer_threshold": [50, 55, 60, 65, 70],
    "uncertain_threshold": [40, 45, 50, 55, 60],
    "min_margin": [0, 3, 6],
}


def rates(report: Report) -> dict[str, float]:
    """Accuracy per category."""
    out = {}
    for category in BARS:
        right, total = report.accuracy(category)
        out[category] = right / total if total else 1.0
    return out


def objective(r: dict[str, float]) -> tuple[float, float]:
    """Total shortfall below the bars (smaller is better), then mean accuracy."""
    shortfall = sum(max(0.0, bar - r[c]) for c, bar in BARS.items())
    return (-shortfall, sum(r.values()) / len(r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="+")
    parser.add_argument("--holdout")
    parser.add_argument("--config", default="config/bot.yaml")
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    settings = load_settings(Path(args.config))
    kb = load_knowledge(settings.facts, settings.article)
    ids = [f.id for f in kb.facts]
    cases = [case for path in args.questions for case in load_cases(Path(path), ids)]
    holdout = load_cases(Path(args.holdout), ids) if args.holdout else None
    results = []
    base = settings.matching
    for values in itertools.product(*GRID.values()):
        weights = dataclasses.replace(base, **dict(zip(GRID, values, strict=True)))
        # Thresholds only change the decision, so score once with them wide open.
        open_settings = dataclasses.replace(
            weights, answer_threshold=0, uncertain_threshold=0, min_margin=0
        )
        engine = Engine.build(kb, open_settings)
        scored = [(c, engine.index.match(c.question)) for c in cases]
        for answer, uncertain, margin in itertools.product(*THRESHOLDS.values()):
            if uncertain > answer:
                continue
            chosen = dataclasses.replace(
                weights, answer_threshold=answer, uncertain_threshold=uncertain, min_margin=margin
            )
            right = {c: [0, 0] for c in BARS}
            for case, m in scored:
                answered = m.fact is not None and m.score >= uncertain and m.verdict != "no_answer"
                if case.category == "answerable":
                    ok = answered and m.fact is not None and m.fact.id in case.expect
                elif case.category == "chit_chat":
                    ok = m.verdict == "smalltalk"
                else:
                    ok = not answered
                right[case.category][0] += ok
                right[case.category][1] += 1
            r = {c: (a / t if t else 1.0) for c, (a, t) in right.items()}
            results.append((objective(r), r, chosen))
    results.sort(key=lambda item: item[0], reverse=True)
    for (_, _), r, chosen in results[: args.top]:
        changed = {
            f.name: getattr(chosen, f.name)
            for f in dataclasses.fields(MatchSettings)
            if f.name in GRID or f.name in THRESHOLDS
        }
        line = " ".join(f"{c}={v:.3f}" for c, v in r.items())
        if holdout is not None:
            h = rates(evaluate(Engine.build(kb, chosen), holdout))
            line += " | holdout " + " ".join(f"{c}={v:.3f}" for c, v in h.items())
        print(line, changed)


if __name__ == "__main__":
    main()
