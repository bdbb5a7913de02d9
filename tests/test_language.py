"""Which language a reply is written in."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.evaluation import load_cases
from bot.language import choose_language, detect_language

DATA = Path(__file__).resolve().parent / "data"


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Kim kiminle görüştü?", "tr"),
        ("2021 yılında ticaret hacmi ne kadardı?", "tr"),
        ("2021-ci ildə ticarət dövriyyəsi nə qədər olub?", "az"),
        ("Какой был товарооборот в 2021 году?", "ru"),
        ("Who met whom?", "en"),
        # Turkish letters in names do not make an English question Turkish.
        ("What did Yanık say about Türkiye's reforms?", "en"),
        ("who is türkiye's family minister", "en"),
    ],
)
def test_detects_the_language(question: str, language: str) -> None:
    assert detect_language(question) == language


@pytest.mark.parametrize("question", ["TANAP", "2021?", "🙂", ""])
def test_no_sign_falls_back_to_the_client_language_then_english(question: str) -> None:
    assert detect_language(question) is None
    assert choose_language(question, "ru") == "ru"
    assert choose_language(question, "tr-TR") == "tr"
    assert choose_language(question, "de") == "en"
    assert choose_language(question, None) == "en"


def test_evaluation_questions_are_answered_in_their_language() -> None:
    """With the asker's client language as the hint, as Telegram sends it."""
    cases = [
        c
        for name in ("questions.yaml", "questions_i18n.yaml")
        for c in load_cases(DATA / name)
        if c.category == "answerable"
    ]
    wrong = [c.question for c in cases if choose_language(c.question, c.language) != c.language]
    assert len(wrong) <= len(cases) // 50, wrong
