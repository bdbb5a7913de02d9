"""Fit the engine's decision rule on the development sets and write ``knowledge/decision.yaml``.

    python -m benchmarks.fit_decision            # fit, report, write the file
    python -m benchmarks.fit_decision --dry-run  # fit and report only

Every development set's cases give candidate facts (bot.engine) with feature values
(bot.decision); a candidate is a positive example when the case expects that fact, and every
candidate of a case that expects no fact is a negative one. red-trivia (PyPI) adds "must not
answer" examples. A logistic regression is fitted; then the thresholds are chosen:

- ``uncertain_at``: the probability that maximises the mean of answerable-right and
  declined-right over the pooled sets (each set weighted equally);
- ``answer_at``: the lowest probability at or above ``uncertain_at`` whose answers are right
  at least 98% of the time (below it, answers come with suggestions);
- ``consult_floor``: the lexical score below which no development case is answered right
  by the fitted rule (the model is not consulted there);
- ``smalltalk_at``: the meaning similarity to a small-talk phrase that best separates the
  chit-chat cases from the others.

Leave-one-set-out figures are printed first: each set scored by a rule fitted without it.
"""

from __future__ import annotations

import argparse
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, load_project, load_questions
from benchmarks.corpora import red_trivia
from bot.decision import Rule, fit
from bot.engine import Engine
from bot.evaluation import Case
from bot.knowledge_model import KnowledgeBase
from bot.match_settings import MatchSettings
from bot.matcher import Verdict
from bot.meaning import Meaning, shared_e5

DEVELOPMENT = (
    "tests/data/questions.yaml",
    "tests/data/questions_i18n.yaml",
    "benchmarks/data/heldout.yaml",
    "benchmarks/data/heldout_i18n.yaml",
    "benchmarks/data/blind/en_dev_2026-12-02.yaml",
    "benchmarks/data/blind/i18n_dev_2026-12-02.yaml",
    # First contact on 2026-12-03 (docs/benchmarks.md); development sets since.
    "benchmarks/data/blind/en_sealed_2026-12-03.yaml",
    "benchmarks/data/blind/tr_sealed_2026-12-03.yaml",
    "benchmarks/data/blind/az_sealed_2026-12-03.yaml",
    "benchmarks/data/blind/ru_sealed_2026-12-03.yaml",
)
TRIVIA_SAMPLE = 1500  # of red-trivia's questions the model is consulted for


@dataclass(frozen=True, slots=True)
class Scored:
    """A candidate fact of one case and its feature values."""

    fact_id: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Evidence:
    case: Case
    lexical_score: float
    smalltalk: bool  # the lexical matcher already calls it small talk
    chat_similarity: float
    fact_similarity: float
    candidates: tuple[Scored, ...]


def gather(engine: Engine, cases: Sequence[Case]) -> list[Evidence]:
    """Candidates and features of every case (the model consulted for all of them)."""
    out = []
    space = engine._space
    assert space is not None and engine.meaning is not None
    for case in cases:
        lexical = engine.index.match(case.question)
        sims, listed = engine.evidence(case.question, lexical)
        found = tuple(listed)
        chats = sims[space.chats]
        out.append(
            Evidence(
                case,
                max([lexical.score, *(c.values[1] * 100 for c in found)]),
                lexical.verdict is Verdict.SMALLTALK,
                float(chats.max()) if len(chats) else 0.0,
                float(sims[: space.negatives.start].max()),
                tuple(Scored(c.fact.id, c.values) for c in found),
            )
        )
    return out


def examples(evidence: Sequence[Evidence]) -> tuple[list[tuple[float, ...]], list[float]]:
    rows: list[tuple[float, ...]] = []
    labels: list[float] = []
    for e in evidence:
        if e.smalltalk:
            continue
        expected = set(e.case.expect) if e.case.category == "answerable" else set()
        for c in e.candidates:
            rows.append(c.values)
            labels.append(1.0 if c.fact_id in expected else 0.0)
    return rows, labels


def decide(rule: Rule, e: Evidence, threshold: float | None = None) -> tuple[str | None, bool]:
    """(fact id answered or None, small talk?) for one case under ``rule``."""
    if e.smalltalk:
        return None, True
    talk = e.chat_similarity >= rule.smalltalk_at and e.chat_similarity >= e.fact_similarity
    if e.lexical_score < rule.consult_floor:
        return None, talk
    best = max(e.candidates, key=lambda c: rule.probability(c.values), default=None)
    p = rule.probability(best.values) if best is not None else 0.0
    if best is not None and p >= (rule.uncertain_at if threshold is None else threshold):
        return best.fact_id, False
    return None, talk


def right(e: Evidence, got: tuple[str | None, bool]) -> bool:
    fact, talk = got
    if e.case.category == "answerable":
        return fact in e.case.expect
    if e.case.category == "chit_chat":
        return talk
    return fact is None


def figures(
    rule: Rule, evidence: Sequence[Evidence], threshold: float | None = None
) -> tuple[float, float]:
    """(answerable right, declined right) in percent."""
    answerable = [
        right(e, decide(rule, e, threshold)) for e in evidence if e.case.category == "answerable"
    ]
    declined = [
        right(e, decide(rule, e, threshold)) for e in evidence if e.case.category != "answerable"
    ]
    return 100 * float(np.mean(answerable or [0])), 100 * float(np.mean(declined or [0]))


def fitted_rule(sets: dict[str, list[Evidence]], trivia: list[Evidence], model: str) -> Rule:
    rows, labels = [], []
    for evidence in sets.values():
        r, y = examples(evidence)
        rows += r
        labels += y
    r, y = examples(trivia)
    rows += r
    labels += y
    mean, scale, weight, bias = fit(rows, labels)
    rule = Rule(model, mean, scale, weight, bias, 0.5, 0.5, 0.0, 1.01)
    # The small-talk threshold: best separation of chit-chat from everything else.
    pooled = [e for ev in sets.values() for e in ev if not e.smalltalk]
    best_talk = max(
        np.arange(0.80, 0.99, 0.005),
        key=lambda t: np.mean(
            [
                (e.case.category == "chit_chat")
                == (e.chat_similarity >= t and e.chat_similarity >= e.fact_similarity)
                for e in pooled
            ]
        ),
    )
    rule = replace(rule, smalltalk_at=float(best_talk))

    def balanced(t: float) -> float:
        scores = [figures(rule, ev, t) for ev in sets.values()]
        return float(np.mean([(a + d) / 2 for a, d in scores]))

    uncertain_at = max(np.arange(0.15, 0.80, 0.01), key=balanced)
    rule = replace(rule, uncertain_at=float(uncertain_at), answer_at=float(uncertain_at))
    answered = []
    for ev in sets.values():
        for e in ev:
            best = max(e.candidates, key=lambda c: rule.probability(c.values), default=None)
            if best is not None and not e.smalltalk:
                answered.append((rule.probability(best.values), best.fact_id in e.case.expect))
    answer_at = float(uncertain_at)
    for t in np.arange(uncertain_at, 0.95, 0.01):
        chosen = [ok for p, ok in answered if p >= t]
        if chosen and np.mean(chosen) >= 0.98:
            answer_at = float(t)
            break
    rule = replace(rule, answer_at=answer_at)
    # The model costs a few milliseconds per question: below this lexical score it is not
    # consulted. The highest floor that loses nothing on the pooled sets (each set weighted
    # equally) is kept.
    best = balanced(rule.uncertain_at)
    floor = 0.0
    for candidate in np.arange(5.0, 45.0, 5.0):
        trial = replace(rule, consult_floor=float(candidate))
        scores = [figures(trial, ev) for ev in sets.values()]
        if float(np.mean([(a + d) / 2 for a, d in scores])) >= best - 1e-9:
            floor = float(candidate)
    return replace(rule, consult_floor=floor)


def gather_all(
    engine: Engine, kb: KnowledgeBase
) -> tuple[dict[str, list[Evidence]], list[Evidence]]:
    """Evidence of every development set that is there, and of a red-trivia sample."""
    sets: dict[str, list[Evidence]] = {}
    for name in DEVELOPMENT:
        path = ROOT / name
        if not path.exists():
            print(f"skip {name}: not there")
            continue
        t = time.perf_counter()
        sets[name] = gather(engine, load_questions(path, kb))
        print(f"{name}: {len(sets[name])} cases ({time.perf_counter() - t:.1f} s)")
    questions = red_trivia()
    rng = np.random.default_rng(20261202)
    sample = [questions[i] for i in rng.choice(len(questions), TRIVIA_SAMPLE, replace=False)]
    consulted = [q for q in sample if engine.index.match(q).score > 0]
    trivia = gather(engine, [Case(q, (), "off_topic") for q in consulted])
    print(f"red-trivia: {len(trivia)} of {TRIVIA_SAMPLE} sampled questions touch a fact")

    return sets, trivia


def report(
    kb: KnowledgeBase,
    settings: MatchSettings,
    sets: dict[str, list[Evidence]],
    trivia: list[Evidence],
) -> None:
    """Leave-one-set-out figures: each set scored by a rule fitted without it."""
    print("\nleave-one-set-out (answerable right / declined right), vs the lexical matcher alone:")
    for held in sets:
        rule = fitted_rule({k: v for k, v in sets.items() if k != held}, trivia, shared_e5().name)
        lexical = Engine.build(kb, settings, rule=None, meaning=None)
        base = [(e.case.category, lexical.index.match(e.case.question)) for e in sets[held]]
        ans = [
            m.fact is not None and m.fact.id in e.case.expect and m.verdict is not Verdict.NO_ANSWER
            for e, (c, m) in zip(sets[held], base, strict=True)
            if c == "answerable"
        ]
        dec = [
            (m.verdict is Verdict.SMALLTALK) if c == "chit_chat" else (m.fact is None)
            for c, m in base
            if c != "answerable"
        ]
        a, d = figures(rule, sets[held])
        print(
            f"  {held:48} rule {a:5.1f} / {d:5.1f}   lexical "
            f"{100 * np.mean(ans):5.1f} / {100 * np.mean(dec):5.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    parser.add_argument(
        "--reuse", action="store_true", help="the last run's evidence (to iterate on fitting only)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "knowledge" / "decision.yaml")
    args = parser.parse_args()
    kb, settings = load_project()
    started = time.perf_counter()
    engine = Engine.build(
        kb,
        settings,
        rule=None,
        meaning=Meaning(shared_e5(), Path(kb.path).parent / "embeddings.npz"),
    )
    print(f"engine with meaning built in {time.perf_counter() - started:.1f} s")
    cache = ROOT / "benchmarks" / ".cache" / "evidence.pkl"
    if args.reuse and cache.exists():
        with cache.open("rb") as handle:
            sets, trivia = pickle.load(handle)
        print(f"evidence from {cache} (the last run's features)")
    else:
        sets, trivia = gather_all(engine, kb)
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.open("wb") as handle:
            pickle.dump((sets, trivia), handle)
    report(kb, settings, sets, trivia)
    rule = fitted_rule(sets, trivia, shared_e5().name)
    rule = replace(
        rule,
        fitted=(
            f"{date.today().isoformat()}: {', '.join(sets)} and {len(trivia)} red-trivia questions"
        ),
    )
    print("\nfitted on all sets:")
    for name, evidence in sets.items():
        a, d = figures(rule, evidence)
        print(f"  {name:48} {a:5.1f} / {d:5.1f}")
    false = (
        np.mean([decide(rule, e)[0] is not None for e in trivia])
        * 100
        * len(trivia)
        / TRIVIA_SAMPLE
    )
    print(f"  red-trivia sample: {false:.2f}% answered with a fact")
    print(rule.to_yaml())
    if not args.dry_run:
        args.out.write_text(rule.to_yaml(), encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
