"""Matching a question to a fact of the knowledge base, or to nothing.

:class:`Index` composes the three parts, each built once per knowledge base: the words
(:mod:`bot.word_lookup`), small talk (:mod:`bot.smalltalk`) and the facts' scores
(:mod:`bot.scoring`, with whole-sentence matches from :mod:`bot.phrase_match`).

A fact is answered when its best phrasing scores high enough, confidently when it also beats
the next fact by a margin. A negative example (``unanswerable:``) that explains the question
at least as well as the best fact, read with that fact's words, means the article does not
say. Small talk is recognised on the words as written, before aliases.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.knowledge_model import Fact, KnowledgeBase
from bot.match_settings import MatchSettings
from bot.normalise import normalise
from bot.scoring import Scorer
from bot.smalltalk import SmallTalk
from bot.word_lookup import WordLookup


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


class Index:
    """Everything about a knowledge base that does not depend on the question."""

    def __init__(self, kb: KnowledgeBase, settings: MatchSettings | None = None) -> None:
        self.kb = kb
        self.settings = settings or MatchSettings()
        self.lookup = WordLookup(kb, self.settings)
        self.scorer = Scorer(kb, self.lookup, self.settings)
        self.smalltalk = SmallTalk(kb, self.lookup, self.scorer.fact_vocab, self.settings)

    def match(self, question: str) -> Match:
        """Decide how to reply to ``question``: a fact, an uncertain fact, small talk or none."""
        s = self.settings
        words = self.lookup.words(question)
        intent, talk, exact = self.smalltalk.recognise(question, words)
        scores, negative = self.scorer.score_facts(question, words)
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
        lookup, scorer = self.lookup, self.scorer
        tokens = lookup.words(question).tokens
        position = {f.id: i for i, f in enumerate(self.kb.facts)}
        owner = position.get(fact.id) if fact is not None else None
        lines = [
            f"{typed}: read as {meant} (a typo of a word the knowledge file writes)"
            for typed in dict.fromkeys(normalise(question))
            if (meant := lookup.speller.correct(typed)) != typed
        ]
        for token in dict.fromkeys(t for t in tokens if t not in lookup.stopwords):
            if lookup.misspelt_stopword(token):
                lines.append(f"{token}: a misspelt common word, ignored")
                continue
            matches = lookup.word_matches(token)
            if not matches:
                lines.append(
                    f"{token}: unknown to the knowledge base (weight {scorer.unknown_weight:.1f})"
                )
                continue
            vid, sim = matches[0]
            weight = scorer.idf[vid]
            said = f"{token}: ~{lookup.vocab[vid]} ({sim:.2f}, weight {weight:.1f})"
            if owner is not None:
                credit = max(
                    (scorer.fact_credit[owner].get(v, 0.0) for v, _ in matches), default=0.0
                )
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
