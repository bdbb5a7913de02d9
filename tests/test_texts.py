"""Interface texts exist in every language and format without errors."""

from __future__ import annotations

import string

import pytest

from bot import texts
from bot.language import LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_translated(language: str) -> None:
    table = texts.TRANSLATIONS[language]
    missing = sorted(set(texts.ENGLISH) - set(table))
    assert not missing, f"{language} lacks {missing}"
    unknown = sorted(set(table) - set(texts.ENGLISH))
    assert not unknown, f"{language} has unknown keys {unknown}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_english(language: str) -> None:
    for key, english in texts.ENGLISH.items():
        translated = texts.text(key, language)
        fields = {f for _, f, _, _ in string.Formatter().parse(translated) if f}
        allowed = {f for _, f, _, _ in string.Formatter().parse(english) if f} | {"facts"}
        assert fields <= allowed, (language, key, fields)
        translated.format(
            outlet="Azernews",
            date="2022-07-07",
            facts=25,
            part="when?",
            count=3,
            answer="A.",
            days=30,
            asked=7,
            distinct=2,
            language="en",
            last="2026-12-03 10:00 UTC",
            line=17,
            error="no such file",
        )


def test_unknown_language_falls_back_to_english() -> None:
    assert texts.text("NO_ANSWER", "xx") == texts.ENGLISH["NO_ANSWER"]
