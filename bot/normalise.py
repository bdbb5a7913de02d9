"""Text normalisation shared by the knowledge base and the matcher.

Everything a question and a phrasing are compared on goes through :func:`normalise`, so
both sides fold case, diacritics, apostrophes and punctuation in exactly the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

# Letters that Unicode decomposition does not reduce to an ASCII base letter.
_SPECIAL_LETTERS = str.maketrans(
    {
        "\u0131": "i",  # dotless i
        "ə": "e",
        "Ə": "e",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ß": "ss",
    }
)
# ' and its look-alikes: right/left single quotation mark, modifier letter apostrophe,
# grave and acute accent, prime.
_APOSTROPHES = "'\u2019\u2018\u02bc`\u00b4\u2032"
# A possessive "'s" carries no meaning for matching: "Azerbaijan's" is "Azerbaijan".
_POSSESSIVE = re.compile(rf"(?<=\w)[{_APOSTROPHES}]s\b")
_APOSTROPHE = re.compile(f"[{_APOSTROPHES}]")
# "4,6" is a decimal comma; "15,000" is a thousands separator.
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d{1,2}\b)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+|\d+", re.UNICODE)

MAX_QUESTION_CHARS = 1000
"""Only this many characters of a question are matched; the rest cannot change the answer
of a short-fact knowledge base and would only cost time."""


def fold(text: str) -> str:
    """Lower-case ``text`` and strip diacritics, keeping letters of every script.

    Invisible format characters (zero-width space and joiners, soft hyphen, byte-order
    mark, direction marks) are dropped, so a pasted "Tur\u200bkiye" is still one word.
    """
    if text.isascii():
        return text.lower()  # the common case; everything below is a no-op on ASCII
    # NFKC would turn an acute accent typed as an apostrophe ("Azerbaijan\u00b4s") into a
    # space and a combining accent, splitting the word; make it an apostrophe first.
    text = text.replace("\u00b4", "'")
    text = unicodedata.normalize("NFKC", text).casefold().translate(_SPECIAL_LETTERS)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(
        ch
        for ch in decomposed
        if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
    )
    return unicodedata.normalize("NFC", stripped)


def tokenize(text: str) -> list[str]:
    """Split folded text into word and number tokens, dropping punctuation."""
    text = _POSSESSIVE.sub("", text)
    text = _APOSTROPHE.sub("", text)
    text = _THOUSANDS.sub("", text)
    text = _DECIMAL_COMMA.sub(".", text)
    return _TOKEN.findall(text)


MIN_STEM = 4
"""Shortest stem a ``word*`` alias variant may have."""


class AliasTable(dict[tuple[str, ...], tuple[str, ...]]):
    """Variant tokens -> canonical tokens, plus stems (``variant*``) matching any ending.

    Stems let inflected languages share one alias: ``бабаев*`` covers Бабаева, Бабаеву.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stems: dict[str, tuple[str, ...]] = {}
        self.stem_lengths: tuple[int, ...] = ()
        self.longest = 1

    def stem_of(self, token: str) -> tuple[str, ...] | None:
        """The canonical form of the longest stem alias ``token`` starts with, if any."""
        for size in self.stem_lengths:
            if size <= len(token):
                found = self.stems.get(token[:size])
                if found is not None:
                    return found
        return None


def build_alias_table(aliases: Mapping[str, Iterable[str]]) -> AliasTable:
    """Turn ``canonical: [variants]`` into a lookup from variant tokens to canonical tokens.

    A variant ending in ``*`` is a stem: it matches every word that starts with it.
    """
    table = AliasTable()
    for canonical, variants in aliases.items():
        target = tuple(tokenize(fold(canonical)))
        for variant in variants:
            text = variant.strip()
            key = tuple(tokenize(fold(text.rstrip("*"))))
            if text.endswith("*"):
                if len(key) == 1 and len(key[0]) >= MIN_STEM:
                    table.stems[key[0]] = target
                continue
            if key and key != target:
                table[key] = target
    table.stem_lengths = tuple(sorted({len(stem) for stem in table.stems}, reverse=True))
    table.longest = max((len(k) for k in table), default=1)
    return table


def apply_aliases(
    tokens: list[str], table: Mapping[tuple[str, ...], tuple[str, ...]], longest: int
) -> list[str]:
    """Replace alias variants by their canonical form, longest variant first, then stems."""
    if not table and not getattr(table, "stems", None):
        return tokens
    stem_of = table.stem_of if isinstance(table, AliasTable) and table.stems else None
    out: list[str] = []
    i = 0
    n = len(tokens)
    while i < n:
        for size in range(min(longest, n - i), 0, -1):
            replacement = table.get(tuple(tokens[i : i + size]))
            if replacement is not None:
                out.extend(replacement)
                i += size
                break
        else:
            stemmed = stem_of(tokens[i]) if stem_of is not None else None
            out.extend(stemmed if stemmed is not None else (tokens[i],))
            i += 1
    return out


def is_number(token: str) -> bool:
    """True for tokens such as ``2021`` or ``4.6``."""
    return token[:1].isdigit()


def normalise(
    text: str,
    aliases: Mapping[tuple[str, ...], tuple[str, ...]] | None = None,
    longest_alias: int = 1,
) -> list[str]:
    """Fold, tokenise and canonicalise ``text``; the single entry point for matching."""
    tokens = tokenize(fold(text[:MAX_QUESTION_CHARS]))
    if aliases or getattr(aliases, "stems", None):
        tokens = apply_aliases(tokens, aliases or {}, longest_alias)
    return tokens
