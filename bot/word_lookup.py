"""Reading a text's words as the knowledge base writes them, and finding them in its vocabulary.

A text is normalised with the knowledge base's aliases; a question's typos of written words
are corrected first (:mod:`bot.spelling`). Words match exactly after folding and aliases,
through rapidfuzz with a typo-tolerant cutoff (numbers only exactly), or by a long shared
beginning (inflections). A typo of a stopword that is no word of the facts is recognised, so
that it does not count as an unknown word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.knowledge_model import KnowledgeBase
from bot.match_settings import MatchSettings
from bot.normalise import apply_aliases, build_alias_table, is_number, normalise
from bot.spelling import Speller

_SENTENCE = re.compile(r"[.!?\n]+")
_PREFIX = 5
_CACHE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class Words:
    """A question's tokens: as written (folded) and with the knowledge base's aliases."""

    raw: list[str]
    tokens: list[str]


def _written(kb: KnowledgeBase) -> list[str]:
    """Every text of the knowledge base whose words a question may misspell."""
    texts: list[str] = [kb.article, *kb.unanswerable, *kb.stopwords]
    for fact in kb.facts:
        texts += (*fact.questions, *fact.keywords, fact.answer, fact.quote, *fact.answers.values())
    for key, variants in kb.aliases.items():
        texts += (key, *variants)
    for phrasings in kb.chit_chat.values():
        texts += phrasings
    return texts


class WordLookup:
    """The knowledge base's aliases, stopwords and vocabulary, and how a word finds its own.

    The vocabulary grows with :meth:`add` while the index is built, and stays as built.
    """

    def __init__(self, kb: KnowledgeBase, settings: MatchSettings) -> None:
        self.settings = settings
        self.aliases = build_alias_table(kb.aliases)
        self.longest_alias = self.aliases.longest
        self.stopwords = kb.stopwords
        self.stopword_list = sorted(kb.stopwords)
        self.speller = Speller.of(_written(kb))
        self.vocab: list[str] = []
        self.vocab_ids: dict[str, int] = {}
        # Two ways to find a misspelt or inflected word: among the words sharing its first
        # letter, and among those sharing its first few letters.
        self.prefix_index: dict[str, list[int]] = {}
        self.by_initial: dict[str, tuple[list[str], list[int]]] = {}
        self._match_cache: dict[str, list[tuple[int, float]]] = {}
        self._stopword_cache: dict[str, bool] = {}
        self._stopwords_by_length: dict[int, list[str]] = {}

    def add(self, tokens: Sequence[str]) -> tuple[int, ...]:
        """The vocabulary ids of ``tokens``, each once, in order; a new word gets the next id."""
        vocab = self.vocab_ids
        out: list[int] = []
        for token in tokens:
            vid = vocab.get(token)
            if vid is None:
                vid = vocab[token] = len(vocab)
                self.vocab.append(token)
                if len(token) >= _PREFIX and not is_number(token):
                    self.prefix_index.setdefault(token[:_PREFIX], []).append(vid)
                bucket_words, bucket_ids = self.by_initial.setdefault(token[0], ([], []))
                bucket_words.append(token)
                bucket_ids.append(vid)
            if vid not in out:
                out.append(vid)
        return tuple(out)

    def words(self, question: str) -> Words:
        """The question's tokens (misspellings of written words corrected) before and after
        aliases, computed once per question."""
        raw = [self.speller.correct(token) for token in normalise(question)]
        return Words(raw, apply_aliases(raw, self.aliases, self.longest_alias))

    def tokens(self, text: str) -> list[str]:
        """Normalised tokens of ``text`` with the knowledge base's aliases applied."""
        return normalise(text, self.aliases, self.longest_alias)

    def content(self, text: str) -> list[str]:
        """The tokens of ``text`` that carry meaning (stopwords dropped unless nothing is left)."""
        # A lone letter is no word to match on ("e" of "e-services", a typed "a").
        tokens = [t for t in self.tokens(text) if len(t) > 1 or is_number(t)]
        kept = [t for t in tokens if t not in self.stopwords]
        return kept or tokens

    def names(self, text: str, acronyms: bool = False) -> set[str]:
        """Folded tokens of words written with a capital inside a sentence (likely names).

        All-capital words count only with ``acronyms`` (for the knowledge file's own texts):
        a user who types in capitals is shouting, not naming.
        """
        names: set[str] = set()
        for sentence in _SENTENCE.split(text):
            words = sentence.split()
            for word in words[1:]:
                if word[:1].isupper() and (acronyms or not word.isupper()):
                    names.update(self.tokens(word))
        return names

    def knows(self, token: str) -> bool:
        """Whether ``token`` (normalised) is a word of the knowledge base, or a misspelling
        of one (a number only exactly)."""
        return token in self.vocab_ids or bool(self.word_matches(token))

    def word_matches(self, token: str) -> list[tuple[int, float]]:
        """The vocabulary words ``token`` may be (id, similarity), most similar first."""
        exact = self.vocab_ids.get(token)
        if is_number(token) or len(token) < 4:
            return [] if exact is None else [(exact, 1.0)]
        cached = self._match_cache.get(token)
        if cached is not None:
            return cached
        # Misspellings rarely change the first letter; searching only the words that share
        # it keeps the search small in a large vocabulary.
        bucket_words, bucket_ids = self.by_initial.get(token[0], ((), ()))
        found = process.extract(
            token,
            bucket_words,
            scorer=fuzz.ratio,
            score_cutoff=self.settings.token_cutoff,
            limit=8,
        )
        best = {bucket_ids[position]: score / 100.0 for _, score, position in found}
        if exact is not None:
            best[exact] = 1.0
        # Inflected forms share a long beginning ("товарооборота", "ticaretin"): a common
        # prefix of most of the shorter word counts as the same word, a little less surely.
        if len(token) >= _PREFIX:
            for vid in self.prefix_index.get(token[:_PREFIX], ()):
                word = self.vocab[vid]
                shorter = min(len(word), len(token))
                common = _PREFIX
                while common < shorter and word[common] == token[common]:
                    common += 1
                if common >= shorter * self.settings.prefix_share:
                    best[vid] = max(best.get(vid, 0.0), self.settings.prefix_similarity)
        matches = sorted(best.items(), key=lambda pair: -pair[1])[:8]
        if len(self._match_cache) > _CACHE_SIZE:
            self._match_cache.clear()
        self._match_cache[token] = matches
        return matches

    def misspelt_stopword(self, token: str) -> bool:
        """True for a typo of a stopword ("articel", "wat") that is no word of the facts."""
        if token in self.vocab_ids or is_number(token) or len(token) < 3:
            return False
        known = self._stopword_cache.get(token)
        if known is not None:
            return known
        if len(self._stopword_cache) > _CACHE_SIZE:
            self._stopword_cache.clear()
        self._stopword_cache[token] = answer = self._looks_like_stopword(token)
        return answer

    def _looks_like_stopword(self, token: str) -> bool:
        found = process.extractOne(
            token,
            self._stopwords_of_length(len(token)),
            scorer=fuzz.ratio,
            score_cutoff=self.settings.token_cutoff,
        )
        if found is None:
            return False
        # Only when no word of the facts is at least as close to it.
        return all(sim * 100 < found[1] for _, sim in self.word_matches(token))

    def _stopwords_of_length(self, length: int) -> list[str]:
        """The stopwords (in order) a word of ``length`` letters can reach ``token_cutoff``
        with: ``fuzz.ratio`` is at most 200 * shorter / (sum of lengths), so the others
        cannot, and ``extractOne`` finds the same word among these few."""
        near = self._stopwords_by_length.get(length)
        if near is None:
            cutoff = self.settings.token_cutoff - 1e-6  # a hair looser: never drop a reachable word
            near = [
                w
                for w in self.stopword_list
                if 200 * min(length, len(w)) / (length + len(w)) >= cutoff
            ]
            self._stopwords_by_length[length] = near
        return near
