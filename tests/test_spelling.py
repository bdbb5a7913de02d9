"""Spelling correction against the knowledge file's own words (bot.spelling), on toy texts."""

from __future__ import annotations

import pytest

from bot.spelling import Speller

TEXTS = [
    "What did the minister brief on?",
    "Was it a virtual meeting?",
    "Who wrote the article?",
    "robot technologies in the social sphere",
    "Müəllif kimdir? Məqaləni kim yazıb?",
    "trade in 2021 and 2023",
]
SPELLER = Speller.of(TEXTS)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("breif", "brief"),  # two neighbours swapped: one edit
        ("virtaul", "virtual"),
        ("meating", "meeting"),  # a letter wrong
        ("artcle", "article"),  # a letter missing
        ("minisster", "minister"),  # a letter extra
        ("technlogiees", "technologies"),  # two edits in a long word
    ],
)
def test_a_typo_of_a_written_word_is_corrected(typed: str, meant: str) -> None:
    assert SPELLER.correct(typed) == meant


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("wrot", "four letters are too few to tell a typo from another word"),
        ("trief", "a changed first letter is another word more often than a typo"),
        ("robots", "an added ending is an inflection, not a typo"),
        ("socia", "a dropped ending likewise"),
        ("sphinxes", "more than one edit from every word under ten letters"),
        ("2022", "numbers are never corrected"),
        ("minister", "a written word stays as it is"),
    ],
)
def test_what_is_not_a_typo_stays(typed: str, why: str) -> None:
    assert SPELLER.correct(typed) == typed, why


def test_a_tie_goes_to_the_word_written_most_often() -> None:
    # "venuz" is one edit from both "venue" and "venus".
    speller = Speller.of(["venue venue venue", "venus"])
    assert speller.correct("venuz") == "venue"
    assert Speller.of(["venue", "venus venus venus"]).correct("venuz") == "venus"


def test_respell_keeps_everything_but_the_misspelt_words_and_writes_them_as_the_file_does() -> None:
    assert SPELLER.respell("Who wrote the artcle, please?") == "Who wrote the article, please?"
    # The meaning model reads the file's letters (ə, ü), not the folded form.
    assert SPELLER.respell("Müəlif kimdir?") == "müəllif kimdir?"
    assert SPELLER.respell("nothing to fix here") == "nothing to fix here"
