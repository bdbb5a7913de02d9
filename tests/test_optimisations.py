"""What the engine keeps between questions (per-word caches, the index frozen out of garbage
collection) only saves time: a question gets the same reply on a warm engine as on one that
has answered nothing yet (issue 14). The engine cache is checked in tests/test_engine_cache.py."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from bot.build_worker import dumps
from bot.config import load_settings
from bot.engine import Engine
from bot.evaluation import load_cases
from bot.gc_freeze import settle
from bot.knowledge_load import load_knowledge
from bot.matcher import Index
from bot.render_json import to_json
from bot.replies import reply_to

ROOT = Path(__file__).resolve().parent.parent


def _corpus(kb_ids: list[str]) -> list[str]:
    """Every 10th question of the two development sets (all categories and languages), and
    each again with a word doubled and one misspelt, so the second asking finds its words
    cached with different neighbours."""
    cases = [
        c.question
        for name in ("questions.yaml", "questions_i18n.yaml")
        for c in load_cases(ROOT / "tests" / "data" / name, kb_ids)
    ][::10]
    return cases + [f"{q} {q.split()[-1]}" for q in cases[::2]]


@pytest.mark.slow  # ~150 questions through the meaning model, twice
def test_a_warm_engine_answers_as_a_cold_one() -> None:
    settings = load_settings(ROOT / "config" / "bot.yaml", env={})
    kb = load_knowledge(settings.facts, settings.article)
    cold = dumps(Engine.build(kb, settings.matching))
    questions = _corpus([f.id for f in kb.facts])
    warm = pickle.loads(cold)
    settle()
    # In order, so later questions find their words cached by earlier ones.
    for question in questions:
        fresh = pickle.loads(cold)
        assert to_json(reply_to(warm, question)) == to_json(reply_to(fresh, question)), question


def test_a_pickled_index_scores_to_the_last_digit_as_a_built_one() -> None:
    """The engine cache and reloads hand the bot a pickled engine: its lexical scores must be
    the built one's exactly, or a score on a threshold could decide differently."""
    settings = load_settings(ROOT / "config" / "bot.yaml", env={})
    kb = load_knowledge(settings.facts, settings.article)
    built = Index(kb, settings.matching)
    copy = pickle.loads(dumps(built))  # type: ignore[arg-type]  # any object, as the cache
    questions = [
        c.question
        for name in ("questions.yaml", "questions_i18n.yaml")
        for c in load_cases(ROOT / "tests" / "data" / name)
    ]
    for question in questions:
        a, b = built.match(question), copy.match(question)
        assert (a.score, a.ranking) == (b.score, b.ranking), question
