"""Matching a question to a fact of the knowledge base, or to nothing.

The score of a question against one phrasing is a weighted coverage in both directions:
how much of the question the phrasing explains and how much of the phrasing the question
asks for. Words are weighted by how rare they are across facts (IDF), so "2021" or "DOST"
decide more than "Azerbaijan". A question word found in another phrasing of the same fact,
or only in its answer or quote, counts partly. A word the fact leaves unexplained lowers the
score, strongly when it is a name ("Russia", "Georgia"); a number the fact lacks halves it.

Words match exactly after folding and aliases, through rapidfuzz with a typo-tolerant cutoff
(numbers only exactly), or by a long shared beginning (inflections). Phrasings and questions
made only of common words ("what is this about?") are matched as whole sentences instead.

A fact is answered when its best phrasing scores high enough, confidently when it also beats
the next fact by a margin. A negative example (``unanswerable:``) that explains the question
at least as well as the best fact, read with that fact's words, means the article does not
say. Small talk is recognised on the words as written, before aliases.

Everything that does not depend on the question is computed once in :class:`Index`; per
question, rare words gather candidate phrasings and only the most promising are scored in
full, so the cost stays nearly flat as the knowledge base grows.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz, process

from bot.knowledge_model import Fact, KnowledgeBase
from bot.match_settings import MatchSettings
from bot.normalise import (
    MAX_QUESTION_CHARS,
    apply_aliases,
    build_alias_table,
    is_number,
    normalise,
)
from bot.spelling import Speller

_SENTENCE = re.compile(r"[.!?\n]+")
_EXACT = 95.0
_SCORED = 32  # phrasings scored in full per question
_PER_FACT = 8  # ... at most this many of one fact
_COMMON_SHARE = 0.08  # a word in more than this share of phrasings gathers no candidates
_MIN_POSTINGS = 40
_MAX_POSTINGS = 2_000
_NEAR = 0.05
_SORT_LIMIT = 20_000
_SMALLTALK_EXTRA = 2
_WRAPPED_MAX_WORDS = 24  # longer messages cannot be a short phrase with a few extra words
_PREFIX = 5
_CACHE_SIZE = 50_000
MAX_QUERY_TOKENS = 32
"""Content words of a question beyond this many are ignored (bounds the cost of a message)."""
_NEGATIVE = -1


def _word_index(phrases: Sequence[str]) -> dict[str, list[int]]:
    """Word -> positions of the phrases that contain it."""
    index: dict[str, list[int]] = {}
    for position, phrase in enumerate(phrases):
        for word in set(phrase.split()):
            index.setdefault(word, []).append(position)
    return index


def _whole_phrase(
    text: str, choices: Sequence[str], cutoff: float
) -> tuple[str, float, int] | None:
    """The choice most like ``text`` as a whole sentence, if it scores ``cutoff`` or more."""
    found = process.extractOne(text, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
    return None if found is None else (found[0], float(found[1]), found[2])


def _wrapped_phrase(
    text: str,
    choices: Sequence[str],
    index: dict[str, list[int]],
    cutoff: float,
    found: tuple[str, float, int] | None,
) -> tuple[str, float, int] | None:
    """``found`` (the whole-sentence match), or a better choice contained in ``text``.

    Wrapping allows a few extra words ("thanks a lot, bot", "can you tell me what this is
    about"), never a long sentence that merely contains a short phrase; among contained
    phrases the one covering most of the text wins. Scores below ``cutoff`` are not found.
    """
    words = set(text.split())
    if len(words) > _WRAPPED_MAX_WORDS:
        return found
    # A contained phrase shares at least one word with the text exactly.
    positions = sorted({p for word in words for p in index.get(word, ())})
    for position in positions:
        phrase = choices[position]
        kept = set(phrase.split())
        if len(words - kept) > max(_SMALLTALK_EXTRA, 2 * len(kept)):
            continue
        # Contained means the phrase's words are in the text (one in four may be
        # misspelt): token_set_ratio alone also scores 100 for a text inside the phrase,
        # which made "a" the phrase "was it a online".
        if len(kept - words) > len(kept) // 4:
            continue
        score = fuzz.token_set_ratio(text, phrase, score_cutoff=cutoff)
        if score and (found is None or score > found[1]):
            found = (phrase, score, position)
    return found


def _best_phrase(
    text: str,
    choices: Sequence[str],
    index: dict[str, list[int]],
    wrapped: bool,
    cutoff: float,
) -> tuple[str, float, int] | None:
    """The best whole-sentence match for ``text``, or (``wrapped``) contained phrase."""
    found = _whole_phrase(text, choices, cutoff)
    return _wrapped_phrase(text, choices, index, cutoff, found) if wrapped else found


class Verdict(StrEnum):
    """What kind of reply a question gets."""

    ANSWER = "answer"
    UNCERTAIN = "uncertain"
    NO_ANSWER = "no_answer"
    SMALLTALK = "smalltalk"


@dataclass(frozen=True, slots=True)
class Match:
    """The outcome of matching one question."""

    verdict: Verdict
    fact: Fact | None
    score: float
    margin: float
    ranking: tuple[tuple[Fact, float], ...]  # facts the question touched, best first
    intent: str | None = None
    negative: float = 0.0  # lexical score of the best negative example
    why: Any = None  # bot.engine.Why: the reasons, when the engine decided


@dataclass(frozen=True, slots=True)
class _Entry:
    owner: int  # fact index, or _NEGATIVE for an unanswerable example
    words: frozenset[int]  # vocabulary ids
    weight: float  # sum of the words' IDF


@dataclass(frozen=True, slots=True)
class _Words:
    """A question's tokens: as written (folded) and with the knowledge base's aliases."""

    raw: list[str]
    tokens: list[str]


@dataclass(slots=True)
class _Query:
    """A question's words as the scorer needs them, shared by all phrasings it scores."""

    hits_of: dict[int, list[tuple[int, float]]]  # vocabulary id -> (question word, sim)
    weights: list[float]
    penalties: list[float]
    total: float
    credits: dict[int, list[float]]  # fact -> per question word, credit from its other words

    def credit_of(self, owner: int, fact_credit: list[dict[int, float]]) -> list[float]:
        """Per question word, how far the fact's other texts explain it (cached per fact)."""
        found = self.credits.get(owner)
        if found is None:
            found = [0.0] * len(self.weights)
            if owner != _NEGATIVE:
                credits = fact_credit[owner]
                for vid, hits in self.hits_of.items():
                    credit = credits.get(vid)
                    if credit is not None:
                        for qi, sim in hits:
                            if sim * credit > found[qi]:
                                found[qi] = sim * credit
            self.credits[owner] = found
        return found


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


class Index:
    """Everything about a knowledge base that does not depend on the question."""

    def __init__(self, kb: KnowledgeBase, settings: MatchSettings | None = None) -> None:
        self.kb = kb
        self.settings = settings or MatchSettings()
        self.aliases = build_alias_table(kb.aliases)
        self.longest_alias = self.aliases.longest
        self.stopwords = kb.stopwords
        self.stopword_list = sorted(kb.stopwords)
        self.speller = Speller.of(_written(kb))

        vocab: dict[str, int] = {}

        def ids(tokens: Sequence[str]) -> tuple[int, ...]:
            out: list[int] = []
            for token in tokens:
                vid = vocab.setdefault(token, len(vocab))
                if vid not in out:
                    out.append(vid)
            return tuple(out)

        raw_entries: list[tuple[int, tuple[int, ...], str]] = []
        fact_words: list[set[int]] = []
        asked_words: list[set[int]] = []
        for index, fact in enumerate(kb.facts):
            words: set[int] = set()
            for text in (*fact.questions, *fact.keywords):
                entry = ids(self.content(text))
                if entry:
                    raw_entries.append((index, entry, " ".join(self.tokens(text))))
                    words.update(entry)
            asked_words.append(set(words))
            for text in (fact.answer, fact.quote, *fact.answers.values()):
                words.update(ids(self.content(text)))
            fact_words.append(words)
        for text in kb.unanswerable:
            entry = ids(self.content(text))
            if entry:
                raw_entries.append((_NEGATIVE, entry, " ".join(self.tokens(text))))

        self.vocab: list[str] = list(vocab)
        self.vocab_ids = vocab
        # Two ways to find a misspelt or inflected word: among the words sharing its first
        # letter, and among those sharing its first few letters.
        self.prefix_index: dict[str, list[int]] = {}
        self.by_initial: dict[str, tuple[list[str], list[int]]] = {}
        for token, vid in vocab.items():
            if len(token) >= _PREFIX and not is_number(token):
                self.prefix_index.setdefault(token[:_PREFIX], []).append(vid)
            bucket_words, bucket_ids = self.by_initial.setdefault(token[0], ([], []))
            bucket_words.append(token)
            bucket_ids.append(vid)
        self._match_cache: dict[str, list[tuple[int, float]]] = {}
        self._stopword_cache: dict[str, bool] = {}
        self._stopwords_by_length: dict[int, list[str]] = {}
        facts = max(len(kb.facts), 1)
        df = [0] * len(vocab)
        for words in fact_words:
            for vid in words:
                df[vid] += 1
        self.idf: list[float] = [1.0 + math.log(facts / max(d, 1)) for d in df]
        self.max_weight = 1.0 + math.log(facts)
        self.unknown_weight = self.settings.unknown_word_weight * self.max_weight
        # A phrasing left with only common words once stopwords go ("What is the article
        # about?" -> "what") would match any question with that word; such phrasings match
        # only as a whole sentence.
        self.entries: list[_Entry] = []
        self.whole_texts: list[str] = []
        self.whole_owners: list[int] = []
        for owner, entry_words, whole in raw_entries:
            weight = sum(self.idf[v] for v in entry_words)
            if weight < self.settings.min_phrasing_weight:
                self.whole_texts.append(whole)
                self.whole_owners.append(owner)
            else:
                self.entries.append(_Entry(owner, frozenset(entry_words), weight))
        # Dividing matched weight by this ranks candidates roughly as the full score will.
        self.entry_inverse_scale = [
            e.weight ** (self.settings.question_weight - 1.0) for e in self.entries
        ]
        self.postings: list[list[int]] = [[] for _ in vocab]
        for eid, built in enumerate(self.entries):
            for vid in built.words:
                self.postings[vid].append(eid)
        # Credit for a question word found elsewhere in the fact: full-ish when another
        # phrasing of the fact uses it, less when only the answer or quote does.
        self.fact_credit: list[dict[int, float]] = [
            {
                vid: (
                    self.settings.sibling_word_credit
                    if vid in asked_words[findex]
                    else self.settings.fact_word_credit
                )
                for vid in words
            }
            for findex, words in enumerate(fact_words)
        ]
        self.fact_vocab = frozenset(self.vocab[v] for words in fact_words for v in words)
        self.fact_numbers: list[frozenset[str]] = [
            frozenset(self.vocab[v] for v in words if is_number(self.vocab[v]))
            for words in fact_words
        ]
        # Names: words the article or the knowledge file writes with a capital inside a sentence.
        self.entity_ids: frozenset[int] = frozenset(
            vocab[token]
            for text in (
                kb.article,
                *kb.unanswerable,
                *(t for f in kb.facts for t in (*f.questions, f.answer, f.quote)),
            )
            for token in self._names(text, acronyms=True)
            if token in vocab
        )
        self.smalltalk_words: set[str] = set()
        self.smalltalk_texts: list[str] = []
        self.smalltalk_intents: list[str] = []
        for intent, phrasings in kb.chit_chat.items():
            for text in phrasings:
                self.smalltalk_texts.append(" ".join(normalise(text)))
                self.smalltalk_words.update(self.tokens(text))
                self.smalltalk_intents.append(intent)
        self.smalltalk_index = _word_index(self.smalltalk_texts)
        self.whole_index = _word_index(self.whole_texts)

    def words(self, question: str) -> _Words:
        """The question's tokens (misspellings of written words corrected) before and after
        aliases, computed once per question."""
        raw = [self.speller.correct(token) for token in normalise(question)]
        return _Words(raw, apply_aliases(raw, self.aliases, self.longest_alias))

    def tokens(self, text: str) -> list[str]:
        """Normalised tokens of ``text`` with the knowledge base's aliases applied."""
        return normalise(text, self.aliases, self.longest_alias)

    def content(self, text: str) -> list[str]:
        """The tokens of ``text`` that carry meaning (stopwords dropped unless nothing is left)."""
        # A lone letter is no word to match on ("e" of "e-services", a typed "a").
        tokens = [t for t in self.tokens(text) if len(t) > 1 or is_number(t)]
        kept = [t for t in tokens if t not in self.stopwords]
        return kept or tokens

    def knows(self, token: str) -> bool:
        """Whether ``token`` (normalised) is a word of the knowledge base, or a misspelling
        of one (a number only exactly)."""
        return token in self.vocab_ids or bool(self._word_matches(token))

    def _word_matches(self, token: str) -> list[tuple[int, float]]:
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

    def _misspelt_stopword(self, token: str) -> bool:
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
        return all(sim * 100 < found[1] for _, sim in self._word_matches(token))

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

    def smalltalk(
        self, question: str, words: _Words | None = None
    ) -> tuple[str | None, float, bool]:
        """The chit-chat intent the whole message amounts to, if any, and its score.

        Small talk is compared word for word, before aliases: "help" must stay "help"
        even where the knowledge file maps it to "support" for the facts.
        """
        words = words or self.words(question)
        raw = words.raw
        if not self.smalltalk_texts or not raw:
            return None, 0.0, False
        content = [t for t in raw if t not in self.stopwords]
        # A message with no word of the article may wrap small talk in extra words
        # ("great answer, thanks"); one that names the article's words may not.
        about_article = any(
            t in self.fact_vocab and t not in self.smalltalk_words for t in words.tokens
        )
        cutoff = self.settings.smalltalk_threshold
        raw_text = " ".join(raw)
        whole = _whole_phrase(raw_text, self.smalltalk_texts, cutoff)
        exact = whole is not None and whole[1] >= _EXACT
        best_intent, best_score = None, 0.0
        # Without its stopwords a message may match a phrase better ("thank you so much" vs
        # "thanks"); a message about the article is small talk only as a whole, if at all.
        texts = (raw_text,) if about_article else (raw_text, " ".join(content))
        for text in dict.fromkeys(texts):
            if not text:
                continue
            found = whole if text == raw_text else _whole_phrase(text, self.smalltalk_texts, cutoff)
            if not about_article:
                found = _wrapped_phrase(
                    text, self.smalltalk_texts, self.smalltalk_index, cutoff, found
                )
            if found is not None and found[1] > best_score:
                best_intent, best_score = self.smalltalk_intents[found[2]], float(found[1])
        return best_intent, best_score, exact

    def _names(self, text: str, acronyms: bool = False) -> set[str]:
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

    def score_facts(
        self, question: str, words: _Words | None = None
    ) -> tuple[dict[int, float], float]:
        """Score the facts ``question`` touches (by index) and the best negative example."""
        s = self.settings
        tokens = (words or self.words(question)).tokens
        content = [t for t in tokens if t not in self.stopwords and not self._misspelt_stopword(t)]
        unique = list(dict.fromkeys(content))[:MAX_QUERY_TOKENS]
        fact_scores: dict[int, float] = {}
        negative = 0.0

        weights: list[float] = []
        # Per question word: the score factor when a fact leaves it unexplained. A name (one
        # the knowledge base writes with a capital, or one the user does) points to another
        # question ("Russia", "Georgia"); any other word is often just another way to ask.
        penalties: list[float] = []
        names = self._names(question[:MAX_QUESTION_CHARS])
        # Which question words each vocabulary word stands for, and how surely.
        hits_of: dict[int, list[tuple[int, float]]] = {}
        for qi, token in enumerate(unique):
            matches = self._word_matches(token)
            weight = max((self.idf[v] for v, _ in matches), default=self.unknown_weight)
            weights.append(weight)
            strong = token in names or any(vid in self.entity_ids for vid, _ in matches)
            base = s.unexplained_penalty if strong else s.unknown_word_penalty
            penalties.append(base ** (weight / self.max_weight))
            for vid, sim in matches:
                hits_of.setdefault(vid, []).append((qi, sim))
        # A question with only common words ("can you tell me what this is about?") is
        # matched as a whole sentence, like the light phrasings; word scores would be noise.
        light = sum(weights) < s.min_phrasing_weight
        if self.whole_texts and tokens:
            found = _best_phrase(
                " ".join(tokens), self.whole_texts, self.whole_index, light, s.smalltalk_threshold
            )
            if found is not None:
                owner = self.whole_owners[found[2]]
                if owner == _NEGATIVE:
                    negative = float(found[1])
                else:
                    fact_scores[owner] = float(found[1])
        if light:
            return fact_scores, negative

        query = _Query(hits_of, weights, penalties, sum(weights), {})
        numbers = [t for t in unique if is_number(t)]
        chosen, negatives = self._candidates(hits_of)
        for entry in chosen:
            score = self._entry_score(entry, entry.owner, query)
            if numbers:
                missing = sum(1 for n in numbers if n not in self.fact_numbers[entry.owner])
                score *= s.number_penalty**missing
            if score > fact_scores.get(entry.owner, 0.0):
                fact_scores[entry.owner] = score
        if negatives:
            # A negative example is read with the best fact's words as its own: it is that
            # fact's question with one thing changed, so only the change should decide.
            top = max(fact_scores, key=fact_scores.__getitem__, default=_NEGATIVE)
            owner = top if fact_scores.get(top, 0.0) > 0 else _NEGATIVE
            for entry in negatives:
                negative = max(negative, self._entry_score(entry, owner, query))
        return fact_scores, negative

    def _candidates(
        self, hits_of: dict[int, list[tuple[int, float]]]
    ) -> tuple[list[_Entry], list[_Entry]]:
        """The phrasings and negative examples worth scoring in full.

        Rarer words gather candidates with a cheap estimate (matched weight over phrasing
        weight); very common words only help rank them. The best few per fact, and overall,
        are scored in full: that keeps a question's cost flat as the knowledge base grows.
        """
        limit = min(_MAX_POSTINGS, max(_MIN_POSTINGS, int(len(self.entries) * _COMMON_SHARE)))
        estimate: dict[int, float] = {}
        common: list[tuple[int, float]] = []
        rarest: list[int] | None = None
        # Only each question word's closest vocabulary words gather candidates; "ministers"
        # need not repeat what "minister" found.
        closest: dict[int, float] = {}
        for hits in hits_of.values():
            for qi, sim in hits:
                if sim > closest.get(qi, 0.0):
                    closest[qi] = sim
        for vid, hits in hits_of.items():
            if all(sim < closest[qi] - _NEAR for qi, sim in hits):
                continue
            posting = self.postings[vid]
            mass = self.idf[vid] * max(sim for _, sim in hits)
            if len(posting) > limit:
                common.append((vid, mass))
                if rarest is None or len(posting) < len(rarest):
                    rarest = posting
                continue
            known = estimate.get
            for eid in posting:
                estimate[eid] = known(eid, 0.0) + mass
        if not estimate and rarest is not None:
            estimate = dict.fromkeys(rarest[:limit], 0.0)
        inverse = self.entry_inverse_scale
        keyed = [(mass * inverse[eid], eid) for eid, mass in estimate.items()]
        # Sorting in C beats heapq's Python loop until the list is long.
        if len(keyed) <= _SORT_LIMIT:
            keyed.sort(reverse=True)
            pool = keyed[: _SCORED * 4]
        else:
            pool = heapq.nlargest(_SCORED * 4, keyed)
        if common:
            # The common words now count too, for the few candidates left: without them a
            # short phrasing of the rare words alone would outrank the question's own words.
            common_mass = dict(common)
            entries = self.entries
            rescored = []
            for _, eid in pool:
                mass = estimate[eid]
                for vid in entries[eid].words:
                    extra = common_mass.get(vid)
                    if extra is not None:
                        mass += extra
                rescored.append((mass * inverse[eid], eid))
            rescored.sort(reverse=True)
            pool = rescored
        ranked = pool
        per_owner: dict[int, int] = {}
        chosen: list[_Entry] = []
        negatives: list[_Entry] = []
        for _, eid in ranked:
            entry = self.entries[eid]
            if entry.owner == _NEGATIVE:
                if len(negatives) < _SCORED:
                    negatives.append(entry)
                continue
            count = per_owner.get(entry.owner, 0)
            if count < _PER_FACT and len(chosen) < _SCORED:
                per_owner[entry.owner] = count + 1
                chosen.append(entry)
        return chosen, negatives

    def _entry_score(self, entry: _Entry, owner: int, query: _Query) -> float:
        """How well one phrasing fits the question, 0-100 (coverage both ways, penalties).

        ``owner`` is the fact whose other words count as partly explaining the question.
        """
        alpha = self.settings.question_weight
        weights = query.weights
        own = [0.0] * len(weights)
        mass = 0.0
        hits_of = query.hits_of.get
        idf = self.idf
        for vid in entry.words:
            hits = hits_of(vid)
            if hits is None:
                continue
            best = 0.0
            for qi, sim in hits:
                if sim > own[qi]:
                    own[qi] = sim
                if sim > best:
                    best = sim
            mass += idf[vid] * best
        if mass == 0.0:
            return 0.0
        elsewhere = query.credit_of(owner, self.fact_credit)
        covered = 0.0
        factor = 1.0
        for qi, weight in enumerate(weights):
            best = own[qi] if own[qi] >= elsewhere[qi] else elsewhere[qi]
            if best == 0.0:
                factor *= query.penalties[qi]
            else:
                covered += weight * best
        p_cov = min(1.0, mass / entry.weight)
        return float(100.0 * factor * ((covered / query.total) ** alpha) * (p_cov ** (1.0 - alpha)))

    def match(self, question: str) -> Match:
        """Decide how to reply to ``question``: a fact, an uncertain fact, small talk or none."""
        s = self.settings
        words = self.words(question)
        intent, talk, exact = self.smalltalk(question, words)
        scores, negative = self.score_facts(question, words)
        # Only facts the question touched: ranking thousands of zeros would cost more than
        # the matching itself in a large knowledge base.
        scored = sorted((i for i, score in scores.items() if score > 0.0), key=lambda i: -scores[i])
        ranking = tuple((self.kb.facts[i], scores[i]) for i in scored)
        best_fact, best = ranking[0] if ranking else (None, 0.0)
        second = ranking[1][1] if len(ranking) > 1 else 0.0
        margin = best - second
        # Small talk wins when the whole message is a chit-chat phrase, or over a fact it
        # beats or that is not good enough to answer outright; "thanks! who met whom?" still
        # gets its fact.
        if (
            intent is not None
            and talk >= s.smalltalk_threshold
            and (exact or talk > best or best < s.answer_threshold)
        ):
            return Match(Verdict.SMALLTALK, None, round(talk, 1), 0.0, ranking, intent, negative)
        if best_fact is None or best < s.uncertain_threshold or negative >= best:
            return Match(
                Verdict.NO_ANSWER, None, round(best, 1), round(margin, 1), ranking, None, negative
            )
        confident = best >= s.answer_threshold and margin >= s.min_margin
        verdict = Verdict.ANSWER if confident else Verdict.UNCERTAIN
        return Match(verdict, best_fact, round(best, 1), round(margin, 1), ranking, None, negative)

    def explain_words(self, question: str, fact: Fact | None) -> list[str]:
        """One line per content word of ``question``: what it matched, and for ``fact``
        whether the fact explains it; unexplained words show how specific they are (IDF)."""
        tokens = self.words(question).tokens
        position = {f.id: i for i, f in enumerate(self.kb.facts)}
        owner = position.get(fact.id) if fact is not None else None
        lines = [
            f"{typed}: read as {meant} (a typo of a word the knowledge file writes)"
            for typed in dict.fromkeys(normalise(question))
            if (meant := self.speller.correct(typed)) != typed
        ]
        for token in dict.fromkeys(t for t in tokens if t not in self.stopwords):
            if self._misspelt_stopword(token):
                lines.append(f"{token}: a misspelt common word, ignored")
                continue
            matches = self._word_matches(token)
            if not matches:
                lines.append(
                    f"{token}: unknown to the knowledge base (weight {self.unknown_weight:.1f})"
                )
                continue
            vid, sim = matches[0]
            weight = self.idf[vid]
            said = f"{token}: ~{self.vocab[vid]} ({sim:.2f}, weight {weight:.1f})"
            if owner is not None:
                credit = max((self.fact_credit[owner].get(v, 0.0) for v, _ in matches), default=0.0)
                said += "; in this fact" if credit else "; not in this fact"
            lines.append(said)
        return lines

    def suggestions(self, match: Match) -> tuple[Fact, ...]:
        """Up to ``max_suggestions`` related facts, topped up with the knowledge base's examples."""
        s = self.settings
        chosen: list[Fact] = []
        for fact, score in match.ranking:
            if len(chosen) >= s.max_suggestions or score < s.suggestion_floor:
                break
            if fact is not match.fact:
                chosen.append(fact)
        for example in self.kb.example_facts:
            if len(chosen) >= s.max_suggestions:
                break
            if example is not match.fact and example not in chosen:
                chosen.append(example)
        return tuple(chosen)
