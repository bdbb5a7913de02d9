"""Spelling correction of a question's words against every word the knowledge base writes.

The lexical matcher forgives typos only against the words it indexes, which are the words
left *after* aliases: "meeting" is indexed as "meet" and "virtual" as "online", so
"meating" and "virtaul" matched nothing, and a misspelt framing word ("artcle") looked like
a typo of a stopword and was dropped. Correcting each unknown word to the nearest word the
knowledge file itself writes (phrasings, answers, quotes, aliases, stopwords, small talk),
before aliases are applied, lets the alias table and the meaning model see the word that
was meant.

The rule, in one line: a word of at least ``MIN_LENGTH`` letters that the knowledge file
never writes becomes the known word at the fewest edits (a letter wrong, missing, extra, or
two neighbours swapped), one edit below ``TWO_EDITS_FROM`` letters and two from it, with
the same first letter and not merely a longer or shorter form of it; ties go to the word
the knowledge file writes most often. Numbers are never corrected: 2021 is not a typo of
2023.

Why each restriction (measured on 10,410 third-party off-topic messages, where every
correction into the knowledge file's words risks a false answer): the knowledge file
does not know English at large, so real words a letter away from its own were being
"corrected" into them. Four-letter words have too many such neighbours ("book"/"took",
"guns"/"gun", "film"/"fill"); a changed first letter is rare in typing and common between
real words ("game"/"name", "white"/"write"); a word that only adds or drops an ending
("robots"/"robot") is an inflection, which the matcher already credits as a near match;
two edits in a word under ten letters join real words ("creature"/"creator").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.normalise import fold, is_number, tokenize

MIN_LENGTH = 5
"""Shorter words are left alone: at one edit, "book" is also "took" and "boot"."""
TWO_EDITS_FROM = 10
"""Words this long may carry two typos ("texnalogiyalar") and still be one known word."""
_CACHE_SIZE = 20_000
_WORD = re.compile(r"[^\W\d_]+")


def max_edits(word: str) -> int:
    """How many edits a misspelling of a word this long may carry."""
    return 2 if len(word) >= TWO_EDITS_FROM else 1


def _a_typo_of(token: str, word: str) -> bool:
    """Whether ``token`` may be a typo of the known ``word`` rather than another word."""
    return token[0] == word[0] and not (token.startswith(word) or word.startswith(token))


@dataclass(frozen=True, slots=True)
class Speller:
    """The knowledge base's written words with their counts, and a bounded memo."""

    counts: dict[str, int]
    surface: dict[str, str]
    """Folded word -> the way the knowledge file writes it (diacritics kept), for the
    meaning model, which reads "müəllifi" better than "muəllifi"."""
    by_start: dict[tuple[str, int], tuple[str, ...]]
    """The words a typo may be of, by first letter and length: a typo keeps the first
    letter, and k edits change the length by at most k, so only these few are compared
    (the same result as comparing all of them, at a hundredth of the cost on long
    messages)."""
    _memo: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, texts: Sequence[str]) -> Speller:
        """A speller knowing every word of ``texts`` (folded and tokenised as questions are)."""
        counts = Counter(
            token for text in texts for token in tokenize(fold(text)) if not is_number(token)
        )
        # A five-letter typo may be a four-letter word with a letter extra ("whoom").
        words = tuple(sorted(w for w in counts if len(w) >= MIN_LENGTH - 1))
        # Folding is the cost: fold each distinct word once, in order of first appearance so
        # the first spelling wins.
        written = dict.fromkeys(w for text in texts for w in _WORD.findall(text.lower()))
        surface: dict[str, str] = {}
        for word in written:
            surface.setdefault(fold(word), word)
        by_start: dict[tuple[str, int], list[str]] = {}
        for word in words:
            by_start.setdefault((word[0], len(word)), []).append(word)
        grouped = {key: tuple(group) for key, group in by_start.items()}
        return cls(dict(counts), surface, grouped)

    def correct(self, token: str) -> str:
        """``token`` (folded), or the known word it misspells."""
        if token in self.counts or len(token) < MIN_LENGTH or is_number(token):
            return token
        known = self._memo.get(token)
        if known is not None:
            return known
        edits = max_edits(token)
        near_length = [
            word
            for size in range(len(token) - edits, len(token) + edits + 1)
            for word in self.by_start.get((token[0], size), ())
        ]
        found = process.extract(
            token, near_length, scorer=OSA.distance, score_cutoff=edits, limit=None
        )
        best = token
        near = [hit for hit in found if _a_typo_of(token, hit[0])]
        if near:
            # Fewest edits first, then the word the knowledge file writes most often.
            best = min(near, key=lambda hit: (hit[1], -self.counts[hit[0]], hit[0]))[0]
        if len(self._memo) >= _CACHE_SIZE:
            self._memo.clear()
        self._memo[token] = best
        return best

    def respell(self, text: str) -> str:
        """``text`` with each misspelt word replaced by the known word, as the knowledge
        file writes it; every other character kept."""

        def fix(found: re.Match[str]) -> str:
            word = found.group()
            folded = fold(word)
            fixed = self.correct(folded)
            return word if fixed == folded else self.surface.get(fixed, fixed)

        return _WORD.sub(fix, text)
