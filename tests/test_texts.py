"""Interface texts exist in every language, with English's placeholders, and format."""

from __future__ import annotations

import ast
import dataclasses
import string
import subprocess
import sys
from pathlib import Path

import pytest

from bot import texts
from bot.commands import ADMIN_COMMANDS, COMMANDS
from bot.knowledge_checks import INTENTS
from bot.language import LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [code for code in LANGUAGES if code != "en"]

# Texts a translation sets to "" (never shown), because its other texts already say them.
EMPTY_ON_PURPOSE = {
    # Their help_body already says how to ask in groups and inline.
    ("tr", "help_groups"),
    ("az", "help_groups"),
    ("ru", "help_groups"),
}

# Placeholders a translation does without.
PLACEHOLDERS_LEFT_OUT = {
    # These Turkish and Azerbaijani texts never gave the number of facts ("I know the facts
    # of the article", "I can answer these questions"); adding it would change the replies.
    ("tr", "start_body"): {"facts"},
    ("tr", "topics_title"): {"facts"},
    ("az", "start_body"): {"facts"},
    ("az", "topics_title"): {"facts"},
}

# A value for every placeholder any text has.
VALUES = {
    "outlet": "Azernews",
    "date": "2022-07-07",
    "facts": 25,
    "part": "when?",
    "count": 3,
    "answer": "A.",
    "days": 30,
    "asked": 7,
    "distinct": 2,
    "language": "en",
    "last": "2026-12-03 10:00 UTC",
    "line": 17,
    "error": "no such file",
}


def flat(said: texts.Texts) -> dict[str, str]:
    """Every text of ``said`` by name: ``no_answer``, ``smalltalk.greeting``, ``source.title``."""
    out: dict[str, str] = {}
    for field in dataclasses.fields(said):
        value = getattr(said, field.name)
        if isinstance(value, str):
            out[field.name] = value
        elif isinstance(value, texts.SourceLabels):
            out.update(
                {f"source.{f.name}": getattr(value, f.name) for f in dataclasses.fields(value)}
            )
        else:
            out.update({f"{field.name}.{key}": text for key, text in value.items()})
    return out


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_allow_lists_name_real_texts() -> None:
    names = set(flat(texts.ENGLISH))
    for language, name in (*EMPTY_ON_PURPOSE, *PLACEHOLDERS_LEFT_OUT):
        assert language in TRANSLATED and name in names, (language, name)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_there_and_not_empty(language: str) -> None:
    for name, text in flat(texts.of(language)).items():
        if (language, name) in EMPTY_ON_PURPOSE:
            assert text == "", f"{language} {name} is allowed to be empty but is not: drop it"
        else:
            assert text.strip(), f"{language} {name} is empty"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_is_translated(language: str) -> None:
    english = flat(texts.ENGLISH)
    same = sorted(name for name, text in flat(texts.of(language)).items() if text == english[name])
    assert not same, f"{language} has English texts {same}"
    assert texts.of(language) is not texts.ENGLISH


@pytest.mark.parametrize("language", LANGUAGES)
def test_smalltalk_replies_to_every_intent(language: str) -> None:
    intents = set(texts.of(language).smalltalk)
    assert not set(INTENTS) - intents, f"{language} lacks {sorted(set(INTENTS) - intents)}"
    assert not intents - set(INTENTS), f"{language} has unknown {sorted(intents - set(INTENTS))}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_commands_describe_every_command(language: str) -> None:
    registry = set(COMMANDS + ADMIN_COMMANDS)
    described = set(texts.of(language).commands)
    assert not registry - described, f"{language} lacks {sorted(registry - described)}"
    assert not described - registry, f"{language} has unknown {sorted(described - registry)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_english(language: str) -> None:
    english = flat(texts.ENGLISH)
    for name, text in flat(texts.of(language)).items():
        if (language, name) in EMPTY_ON_PURPOSE:
            continue
        expected = placeholders(english[name]) - PLACEHOLDERS_LEFT_OUT.get((language, name), set())
        assert placeholders(text) == expected, (language, name, placeholders(text))
        text.format(**VALUES)


def test_unknown_language_falls_back_to_english() -> None:
    assert texts.of("xx") is texts.ENGLISH
    assert texts.of("en") is texts.ENGLISH


def test_texts_cannot_be_changed() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        texts.ENGLISH.no_answer = "?"  # type: ignore[misc]
    with pytest.raises(TypeError):
        texts.ENGLISH.smalltalk["greeting"] = "?"  # type: ignore[index]


def test_the_texts_import_nothing_heavy() -> None:
    """bot.texts comes without Telegram, YAML or the knowledge base's code."""
    code = (
        "import sys, bot.texts, bot.translations; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'bot', 'telegram', 'yaml'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert ast.literal_eval(done.stdout) == ["bot", "bot.texts", "bot.translations"]
