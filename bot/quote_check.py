"""Whether a quote is the article's own words, and, when it is not, why: look-alike
characters, or the nearest article text and a character diff against it.
"""

from __future__ import annotations

import difflib
import unicodedata

NEAREST_QUOTE_SCORE = 75
"""A refused quote is shown beside the article text it resembles this much (rapidfuzz's
partial ratio, 0-100); below it the "nearest" text is noise (made-up quotes score 50-65)."""


def squash(text: str) -> str:
    return " ".join(text.split())


def occurs(needle: str, haystack: str) -> tuple[bool, bool]:
    """Whether ``needle`` is in ``haystack`` at all, and whether as whole words somewhere.

    Whole words: a letter or digit at either end of the needle must not continue a word of
    the haystack ("e" in "the", "rbaij" in "Azerbaijan" do).
    """
    start = haystack.find(needle)
    found = start >= 0
    if not needle:
        return found, False
    head, tail = needle[0].isalnum(), needle[-1].isalnum()
    while start >= 0:
        end = start + len(needle)
        if not (head and start > 0 and haystack[start - 1].isalnum()) and not (
            tail and end < len(haystack) and haystack[end].isalnum()
        ):
            return True, True
        start = haystack.find(needle, start + 1)
    return found, False


_CYRILLIC_LOOK_ALIKES = {
    "SMALL": {"A": "a", "IE": "e", "O": "o", "ER": "p", "ES": "c", "U": "y", "HA": "x"},
    "CAPITAL": {"A": "A", "VE": "B", "IE": "E", "KA": "K", "EM": "M", "EN": "H", "O": "O"}
    | {"ER": "P", "ES": "C", "TE": "T", "HA": "X", "BYELORUSSIAN-UKRAINIAN I": "I"},
}
_LOOK_ALIKES = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u02bc\u02b9`\u00b4\u2032", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u00a0\u2009\u202f", " "),
        # Cyrillic letters that look Latin (a Russian keyboard layout left on).
        **{
            unicodedata.lookup(f"CYRILLIC {case} LETTER {name}"): latin
            for case, pairs in _CYRILLIC_LOOK_ALIKES.items()
            for name, latin in pairs.items()
        },
    }
)
"""Characters an editor types for others that look the same: each maps to one character, so
positions in the folded text are positions in the original."""


def _named(char: str) -> str:
    return f"{char} (U+{ord(char):04X} {unicodedata.name(char, 'unnamed')})"


def quote_hint(quote: str, article: str) -> str:
    """Why a quote (whitespace squashed) is not in the article (squashed): look-alike
    characters, or the nearest article text and a character-level diff against it."""
    folded_article = article.translate(_LOOK_ALIKES)
    at = folded_article.find(quote.translate(_LOOK_ALIKES))
    if at >= 0:
        original = article[at : at + len(quote)]
        swaps = dict.fromkeys(
            f"{_named(mine)} where the article has {_named(theirs)}"
            for mine, theirs in zip(quote, original, strict=True)
            if mine != theirs
        )
        return (
            "it differs only in look-alike characters: "
            + "; ".join(swaps)
            + f". Copy it from the article: {original!r}"
        )
    from rapidfuzz import fuzz  # only a refused quote needs it

    alignment = fuzz.partial_ratio_alignment(quote, article)
    if alignment is None or alignment.score < NEAREST_QUOTE_SCORE:
        return "nothing in the article is close to it; copy quotes from the article file"
    start, end = alignment.dest_start, alignment.dest_end
    # Widen to whole words, so the diff does not begin or end inside one.
    while start > 0 and article[start - 1].isalnum():
        start -= 1
    while end < len(article) and article[end].isalnum():
        end += 1
    nearest = article[start:end]
    return f"the nearest article text is {nearest!r}; {_diff(nearest, quote)}"


def _diff(article_text: str, quote: str) -> str:
    """A character-level diff: ``[-article-]{+quote+}`` where they differ."""
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, article_text, quote, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            out.append(article_text[a1:a2])
            continue
        if a2 > a1:
            out.append(f"[-{article_text[a1:a2]}-]")
        if b2 > b1:
            out.append(f"{{+{quote[b1:b2]}+}}")
    return "the differences ([-article-] {+yours+}): " + "".join(out)
