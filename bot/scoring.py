"""Scoring the facts a question touches, and its best negative example.

The score of a question against one phrasing is a weighted coverage in both directions:
how much of the question the phrasing explains and how much of the phrasing the question
asks for. Words are weighted by how rare they are across facts (IDF), so "2021" or "DOST"
decide more than "Azerbaijan". A question word found in another phrasing of the same fact,
or only in its answer or quote, counts partly. A word the fact leaves unexplained lowers the
score, strongly when it is a name ("Russia", "Georgia"); a number the fact lacks halves it.
Phrasings and questions made only of common words ("what is this about?") are matched as
whole sentences instead (:mod:`bot.phrase_match`).

Everything that does not depend on the question is computed once in :class:`Scorer`; per
question, rare words gather candidate phrasings and only the most promising are scored in
full, so the cost stays nearly flat as the knowledge base grows.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from bot.knowledge_model import KnowledgeBase
from bot.match_settings import MatchSettings
from bot.normalise import MAX_QUESTION_CHARS, is_number
from bot.phrase_match import best_phrase, word_index
from bot.word_lookup import WordLookup, Words

_SCORED = 32  # phrasings scored in full per question
_PER_FACT = 8  # ... at most this many of one fact
_COMMON_SHARE = 0.08  # a word in more than this share of phrasings gathers no candidates
_MIN_POSTINGS = 40
_MAX_POSTINGS = 2_000
_NEAR = 0.05
_SORT_LIMIT = 20_000
MAX_QUERY_TOKENS = 32
"""Content words of a question beyond this many are ignored (bounds the cost of a message)."""
_NEGATIVE = -1


@dataclass(frozen=True, slots=True)
class _Entry:
    owner: int  # fact index, or _NEGATIVE for an unanswerable example
    # Vocabulary ids in ascending order: a fixed order keeps the float sums over them the
    # same in a pickled engine (a frozenset re-read from a pickle may iterate differently).
    words: tuple[int, ...]
    weight: float  # sum of the words' IDF


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


class Scorer:
    """The knowledge base's phrasings and word weights: what scoring a question needs."""

    def __init__(self, kb: KnowledgeBase, lookup: WordLookup, settings: MatchSettings) -> None:
        self.lookup = lookup
        self.settings = settings
        ids = lookup.add
        raw_entries: list[tuple[int, tuple[int, ...], str]] = []
        fact_words: list[set[int]] = []
        asked_words: list[set[int]] = []
        for index, fact in enumerate(kb.facts):
            words: set[int] = set()
            for text in (*fact.questions, *fact.keywords):
                entry = ids(lookup.content(text))
                if entry:
                    raw_entries.append((index, entry, " ".join(lookup.tokens(text))))
                    words.update(entry)
            asked_words.append(set(words))
            for text in (fact.answer, fact.quote, *fact.answers.values()):
                words.update(ids(lookup.content(text)))
            fact_words.append(words)
        for text in kb.unanswerable:
            entry = ids(lookup.content(text))
            if entry:
                raw_entries.append((_NEGATIVE, entry, " ".join(lookup.tokens(text))))

        vocab = lookup.vocab
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
            ordered = tuple(sorted(entry_words))
            weight = sum(self.idf[v] for v in ordered)
            if weight < self.settings.min_phrasing_weight:
                self.whole_texts.append(whole)
                self.whole_owners.append(owner)
            else:
                self.entries.append(_Entry(owner, ordered, weight))
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
        self.fact_vocab = frozenset(vocab[v] for words in fact_words for v in words)
        self.fact_numbers: list[frozenset[str]] = [
            frozenset(vocab[v] for v in words if is_number(vocab[v])) for words in fact_words
        ]
        # Names: words the article or the knowledge file writes with a capital inside a sentence.
        self.entity_ids: frozenset[int] = frozenset(
            lookup.vocab_ids[token]
            for text in (
                kb.article,
                *kb.unanswerable,
                *(t for f in kb.facts for t in (*f.questions, f.answer, f.quote)),
            )
            for token in lookup.names(text, acronyms=True)
            if token in lookup.vocab_ids
        )
        self.whole_index = word_index(self.whole_texts)

    def score_facts(
        self, question: str, words: Words | None = None
    ) -> tuple[dict[int, float], float]:
        """Score the facts ``question`` touches (by index) and the best negative example."""
        s = self.settings
        lookup = self.lookup
        tokens = (words or lookup.words(question)).tokens
        content = [
            t for t in tokens if t not in lookup.stopwords and not lookup.misspelt_stopword(t)
        ]
        unique = list(dict.fromkeys(content))[:MAX_QUERY_TOKENS]
        fact_scores: dict[int, float] = {}
        negative = 0.0

        weights: list[float] = []
        # Per question word: the score factor when a fact leaves it unexplained. A name (one
        # the knowledge base writes with a capital, or one the user does) points to another
        # question ("Russia", "Georgia"); any other word is often just another way to ask.
        penalties: list[float] = []
        names = lookup.names(question[:MAX_QUESTION_CHARS])
        # Which question words each vocabulary word stands for, and how surely.
        hits_of: dict[int, list[tuple[int, float]]] = {}
        for qi, token in enumerate(unique):
            matches = lookup.word_matches(token)
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
            found = best_phrase(
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
