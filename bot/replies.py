"""The one reply policy: question in, :class:`Reply` out (what to answer, what to suggest,
which fact a decline comes near, in which language).

The console chat and the Telegram bot both call :func:`reply_to` and differ only in how
they render the result (:mod:`bot.render_plain`, :mod:`bot.render_html`,
:mod:`bot.render_json`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.asks import question_kind
from bot.engine import Engine, Why
from bot.knowledge_model import Fact, KnowledgeBase
from bot.language import choose_language
from bot.matcher import Match, Verdict

NEARBY_AT = 0.2
NEARBY_WORDS = 70.0
"""A declined question whose words are this close to a fact (lexical score, 0-100) and that
asks the kind of answer the fact gives comes near it (see ``_nearby``)."""
"""A declined question whose best candidate has at least this probability (the rule's) is
told what that fact says: near misses ("trade with Iran?") get the fact they come near to,
while off-topic questions, which have no such candidate, do not."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot answers to one question, before rendering."""

    question: str
    verdict: Verdict
    fact: Fact | None
    score: float
    margin: float
    suggestions: tuple[Fact, ...]
    intent: str | None
    kb: KnowledgeBase
    language: str = "en"
    why: Why | None = None
    nearby: Fact | None = None
    """On a decline: the fact nearest to the question, said in one line ("Nearest, the
    article says: …") so the user learns what the article does say."""
    parts: tuple[Reply, ...] = ()
    """For a message of several questions: each one's reply, in order (``fact`` is then the
    first answered part's)."""

    @property
    def answered(self) -> bool:
        """True when a fact is given (confidently or not)."""
        return self.fact is not None

    def shown_parts(self) -> tuple[Reply, ...]:
        """The replies a rendering shows one after another: the parts, or this reply."""
        return self.parts or (self,)


def _nearby(engine: Engine, match: Match, question: str) -> Fact | None:
    """On a decline, the fact the question comes near, whose answer the decline states.

    Near in the rule's eyes (a candidate it gave some chance); or, in words the knowledge base
    all knows, asking for a kind of answer (a time, a place, an amount) that the fact those
    words point to gives about something else: "when did they meet?" comes near the
    article's date.
    """
    if match.verdict is not Verdict.NO_ANSWER:
        return None
    best = match.why.candidates[0] if match.why is not None and match.why.candidates else None
    if best is not None and best.probability >= NEARBY_AT:
        near: Fact = best.fact
        return near
    segment = match.why.segment if match.why is not None else question
    kind = question_kind(segment)
    if kind in ("what", "choice", "yesno", "outcome") or not match.ranking:
        return None
    fact, score = match.ranking[0]
    if score < NEARBY_WORDS or kind not in engine.kinds_asked(fact):
        return None
    # A word the knowledge base never uses ("when was the *iPhone* released?") means the
    # question is about something else, however well its other words fit.
    known = all(engine.index.lookup.knows(token) for token in engine.index.lookup.content(segment))
    return fact if known else None


def reply_to(engine: Engine, question: str, language_hint: str | None = None) -> Reply:
    """Match ``question`` and decide the reply; pure and thread-safe.

    The reply is in the question's language, else ``language_hint`` (Telegram's
    ``language_code``), else English.
    """
    match = engine.match(question)
    wants_suggestions = match.verdict is not Verdict.ANSWER and match.intent not in {
        "thanks",
        "goodbye",
        "ack",
    }
    suggestions = engine.index.suggestions(match) if wants_suggestions else ()
    nearby = _nearby(engine, match, question)
    return Reply(
        question=question,
        verdict=match.verdict,
        fact=match.fact,
        score=match.score,
        margin=match.margin,
        suggestions=suggestions,
        intent=match.intent,
        kb=engine.kb,
        language=choose_language(question, language_hint),
        why=match.why,
        nearby=nearby,
    )


def reply_to_fact(engine: Engine, fact_id: str, language: str = "en") -> Reply | None:
    """The reply for a fact chosen directly (a suggestion button), or None if it is gone."""
    fact = engine.kb.fact(fact_id)
    if fact is None:
        return None
    return Reply(
        fact.question_in(language),
        Verdict.ANSWER,
        fact,
        100.0,
        100.0,
        (),
        None,
        engine.kb,
        language,
    )
