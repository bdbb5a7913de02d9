"""Text normalisation: what a question and a phrasing are compared on."""

# This file is about look-alike characters on purpose.
# ruff: noqa: RUF003

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.normalise import (
    MAX_QUESTION_CHARS,
    apply_aliases,
    build_alias_table,
    fold,
    is_number,
    normalise,
    tokenize,
)

# --- fold: case and diacritics -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Türkiye", "turkiye"),
        ("TÜRKİYE", "turkiye"),  # dotted capital I folds to a plain i
        ("Yanık", "yanik"),  # dotless i
        ("YANIK", "yanik"),
        ("Azərbaycan", "azerbaycan"),  # schwa
        ("AZƏRBAYCAN", "azerbaycan"),
        ("Şəki Çay Ğ Ö Ü", "seki cay g o u"),
        ("Crème Brûlée", "creme brulee"),
        ("Straße", "strasse"),
        ("Øresund Łódź", "oresund lodz"),
        ("e\u0301", "e"),  # decomposed accent
        ("ﬁnance", "finance"),  # ligature
    ],
)
def test_fold_lowercases_and_strips_diacritics(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_keeps_cyrillic_lowercased() -> None:
    assert fold("ПРИВЕТ, Мир") == "привет, мир"
    assert tokenize(fold("ТУРЦИЯ и Баку")) == ["турция", "и", "баку"]
    # Cyrillic stays Cyrillic; like every script it loses its diacritics (й -> и, ё -> е),
    # the same way on both sides of a comparison.
    assert fold("Азербайджан, ЁЛКА") == "азербаиджан, елка"


def test_fold_keeps_other_scripts() -> None:
    assert tokenize(fold("שלום עולם")) == ["שלום", "עולם"]
    assert tokenize(fold("مرحبا")) == ["مرحبا"]


def test_full_width_letters_and_digits_become_ascii() -> None:
    assert fold("ＡＺＥＲＢＡＩＪＡＮ") == "azerbaijan"
    assert normalise("Ｔｒａｄｅ ｉｎ ２０２１？") == ["trade", "in", "2021"]


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u200f"],
)
def test_zero_width_and_format_characters_do_not_split_words(invisible: str) -> None:
    assert normalise(f"Tur{invisible}kiye") == ["turkiye"]
    assert normalise(f"{invisible}trade{invisible} turnover{invisible}") == ["trade", "turnover"]


# --- tokenize: apostrophes, punctuation, hyphens, numbers ----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Azerbaijan's",
        "Azerbaijan’s",  # right single quotation mark
        "Azerbaijan‘s",  # left single quotation mark
        "Azerbaijanʼs",  # modifier letter apostrophe
        "Azerbaijan`s",
        "Azerbaijan´s",  # acute accent typed as an apostrophe
        "Azerbaijan＇s",  # full-width apostrophe
        "AZERBAIJAN'S",
    ],
)
def test_possessive_is_dropped(text: str) -> None:
    assert normalise(text) == ["azerbaijan"]


def test_apostrophes_inside_words_are_removed_not_split() -> None:
    assert normalise("don't") == ["dont"]
    assert normalise("who’s the writer") == ["who", "the", "writer"]
    assert normalise("rock’n’roll") == ["rocknroll"]
    assert normalise("martyrs' families") == ["martyrs", "families"]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Who met whom?", ["who", "met", "whom"]),
        ("Who... met!!! whom???", ["who", "met", "whom"]),
        ("(trade) [turnover] {2021}", ["trade", "turnover", "2021"]),
        ("«Azernews» “reports”", ["azernews", "reports"]),
        ("trade/turnover;2021:", ["trade", "turnover", "2021"]),
        ("under_score", ["under", "score"]),
        ("?!.,;:", []),
        ("", []),
        ("   \t\n ", []),
    ],
)
def test_punctuation_is_dropped(text: str, tokens: list[str]) -> None:
    assert normalise(text) == tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("second-largest", ["second", "largest"]),
        ("Baku-Tbilisi-Ceyhan", ["baku", "tbilisi", "ceyhan"]),
        ("post–war", ["post", "war"]),  # en dash
        ("post—war", ["post", "war"]),  # em dash
    ],
)
def test_hyphens_split_words(text: str, tokens: list[str]) -> None:
    assert normalise(text) == tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("$4.6 billion", ["4.6", "billion"]),
        ("4,6 milyard", ["4.6", "milyard"]),  # decimal comma
        ("4,60", ["4.60"]),
        ("15,000", ["15000"]),  # thousands separator
        ("$15,000,000", ["15000000"]),
        ("15,000.5", ["15000.5"]),
        ("in 2021.", ["in", "2021"]),  # a full stop after a number is not a decimal point
        ("2021, 2022 and 2023", ["2021", "2022", "and", "2023"]),
        ("4.6bn", ["4.6", "bn"]),
        ("100%", ["100"]),
    ],
)
def test_numbers(text: str, tokens: list[str]) -> None:
    assert normalise(text) == tokens


def test_is_number() -> None:
    assert is_number("2021")
    assert is_number("4.6")
    assert not is_number("turkiye")
    assert not is_number("")


# --- aliases -------------------------------------------------------------------------------

ALIASES = {
    "uk": ["united kingdom", "great britain", "britain", "the united kingdom of great britain"],
    "turkiye": ["turkey", "Türkei", "turkish"],
    "baku tbilisi ceyhan": ["btc", "btc pipeline"],
    "pipeline": ["pipe", "pipelines"],
    "trade": ["commerce"],
}


@pytest.fixture(scope="module")
def table() -> dict[tuple[str, ...], tuple[str, ...]]:
    return build_alias_table(ALIASES)


def _longest(table: dict[tuple[str, ...], tuple[str, ...]]) -> int:
    return max(len(key) for key in table)


def test_alias_table_is_normalised(table: dict[tuple[str, ...], tuple[str, ...]]) -> None:
    assert table[("united", "kingdom")] == ("uk",)
    assert table[("turkei",)] == ("turkiye",)  # the variant is folded too
    assert table[("btc",)] == ("baku", "tbilisi", "ceyhan")
    assert ("uk",) not in table  # a canonical word is not its own variant


def test_multi_word_variants_are_replaced(table: dict[tuple[str, ...], tuple[str, ...]]) -> None:
    tokens = normalise("Is the United Kingdom or Great Britain an investor?", table, 10)
    assert tokens == ["is", "the", "uk", "or", "uk", "an", "investor"]


def test_longest_variant_wins(table: dict[tuple[str, ...], tuple[str, ...]]) -> None:
    longest = _longest(table)
    assert normalise("the United Kingdom of Great Britain", table, longest) == ["uk"]
    # "btc pipeline" is one variant; it is not "btc" followed by "pipeline".
    assert normalise("the BTC pipeline", table, longest) == [
        "the",
        "baku",
        "tbilisi",
        "ceyhan",
    ]
    assert normalise("BTC pipe", table, longest) == ["baku", "tbilisi", "ceyhan", "pipeline"]


def test_aliases_apply_after_folding(table: dict[tuple[str, ...], tuple[str, ...]]) -> None:
    assert normalise("TURKEY's commerce", table, _longest(table)) == ["turkiye", "trade"]


def test_longest_bound_limits_the_window(table: dict[tuple[str, ...], tuple[str, ...]]) -> None:
    # With a window of one token, two-word variants cannot be seen.
    assert apply_aliases(["great", "britain"], table, 1) == ["great", "uk"]


def test_no_aliases_is_identity() -> None:
    assert apply_aliases(["a", "b"], {}, 3) == ["a", "b"]
    assert normalise("Turkey", None) == ["turkey"]


# --- length limit --------------------------------------------------------------------------


def test_long_input_is_truncated_before_matching() -> None:
    head = "a" * (MAX_QUESTION_CHARS - len("turkiye")) + " "
    assert len(head) == MAX_QUESTION_CHARS - len("turkiye") + 1
    # A word that starts past the limit is not seen at all.
    assert normalise("x" * MAX_QUESTION_CHARS + " turkiye") == ["x" * MAX_QUESTION_CHARS]
    # Only the first MAX_QUESTION_CHARS characters count: the word is cut.
    assert normalise(head + "turkiye")[-1] == "turkiy"


def test_huge_input_costs_no_more_than_the_limit() -> None:
    text = "who met whom " * 100_000
    assert normalise(text) == normalise(text[:MAX_QUESTION_CHARS])


# --- properties ----------------------------------------------------------------------------

_TOKEN = re.compile(r"^(?:\d+(?:\.\d+)?|[^\W\d_]+)$")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_and_yields_clean_tokens(text: str) -> None:
    tokens = normalise(text)
    for token in tokens:
        assert _TOKEN.match(token), token
        assert fold(token) == token


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2 * MAX_QUESTION_CHARS))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


_TRICKY = st.sampled_from(
    [*"0123456789,.'’´`-_ $%?!", "ß", "İ", "ı", "ﬁ", "²", "½", "\u200b", "\u0301", "ǅ"]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=_TRICKY), st.text(alphabet=_TRICKY | st.characters())))
def test_normalising_the_tokens_again_changes_nothing(text: str) -> None:
    tokens = normalise(text)
    joined = " ".join(tokens)
    if len(joined) <= MAX_QUESTION_CHARS:  # folding can lengthen text ("ß" -> "ss")
        assert normalise(joined) == tokens


_WORDS = st.sampled_from(
    [
        "united",
        "kingdom",
        "great",
        "britain",
        "turkey",
        "Türkei",
        "btc",
        "pipeline",
        "pipes",
        "commerce",
        "uk",
        "baku",
        "tbilisi",
        "ceyhan",
        "the",
        "of",
        "2021",
        "4,6",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS | st.text(max_size=5), max_size=12))
def test_aliases_are_idempotent(words: list[str]) -> None:
    table = build_alias_table(ALIASES)
    longest = _longest(table)
    tokens = normalise(" ".join(words), table, longest)
    assert normalise(" ".join(tokens), table, longest) == tokens
