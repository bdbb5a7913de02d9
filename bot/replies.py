"""The one reply path: question in, :class:`Reply` out, rendered as plain text, HTML or JSON.

The console chat and the Telegram bot both call :func:`reply_to` and differ only in how
they render the result.
"""

from __future__ import annotations

import gc
import html
from dataclasses import dataclass
from typing import Any

from bot import texts
from bot.asks import question_kind
from bot.engine import Engine as Engine  # re-exported: callers build engines through replies
from bot.engine import Why, describe_candidates
from bot.knowledge import Fact, KnowledgeBase
from bot.language import choose_language
from bot.matcher import Match, Verdict

TELEGRAM_MAX_CHARS = 4096
"""Telegram's limit on a message's text after entity parsing, in UTF-16 code units."""

# Budgets (UTF-16 code units of escaped HTML) that keep any reply within TELEGRAM_MAX_CHARS
# even when the knowledge file holds extreme texts; a real one never comes close.
_LEAD_BUDGET = 1200
_QUOTE_BUDGET = 2000
_SOURCE_BUDGET = 400
_NOTE_BUDGET = 300
_TITLE_BUDGET = 400
_LINE_BUDGET = 1000


NEARBY_AT = 0.2
NEARBY_WORDS = 70.0
"""A declined question whose words are this close to a fact (lexical score, 0-100) and that
asks the kind of answer the fact gives comes near it (see ``_nearby``)."""
"""A declined question whose best candidate has at least this probability (the rule's) is
told what that fact says: near misses ("trade with Iran?") get the fact they come near to,
while off-topic questions, which have no such candidate, do not."""


def settle() -> None:
    """Exempt everything alive now (the freshly built engine) from garbage collection.

    The index is hundreds of thousands of long-lived objects; without this, every full
    collection walks all of them, which at 100,000 phrasings is the slowest question's
    time. Nothing leaks: objects are still freed when their last reference goes.
    """
    gc.collect()
    gc.freeze()


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
    known = all(engine.index.knows(token) for token in engine.index.content(segment))
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


def suggestion_label(fact: Fact, language: str = "en") -> str:
    """The question a suggestion offers: the fact's first phrasing in ``language``."""
    return fact.question_in(language)


def telegram_length(text: str) -> int:
    """The length of ``text`` as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def escape_within(text: str, limit: int) -> str:
    """``text`` escaped for Telegram HTML, cut (ending in "…") to at most ``limit`` units.

    The limit applies to the escaped text, so it also bounds the text Telegram displays.
    """
    escaped = html.escape(text, quote=False)
    if telegram_length(escaped) <= limit:
        return escaped
    low, high = 0, min(len(text), limit)  # every character escapes to at least one unit
    while low < high:  # the longest prefix whose escaped form and "…" fit
        middle = (low + high + 1) // 2
        if telegram_length(html.escape(text[:middle], quote=False)) < limit:
            low = middle
        else:
            high = middle - 1
    return html.escape(text[:low], quote=False) + "…"


def _lead(reply: Reply) -> str:
    said = texts.of(reply.language)
    if reply.verdict is Verdict.SMALLTALK:
        return said.smalltalk.get(reply.intent or "help", said.smalltalk["help"])
    if reply.fact is None and reply.nearby is not None:  # the nearby line says "doesn't say"
        return said.suggest_only if reply.suggestions else ""
    if reply.fact is None:
        return said.no_answer_suggest if reply.suggestions else said.no_answer
    return reply.fact.answer_in(reply.language)


def _source_line(reply: Reply) -> str:
    source = reply.kb.source
    return texts.of(reply.language).source_line.format(outlet=source.outlet, date=source.date)


def _nearby_line(reply: Reply) -> str:
    assert reply.nearby is not None
    answer = reply.nearby.answer_in(reply.language)
    return texts.of(reply.language).nearby.format(answer=answer)


def _not_covered(part: Reply, language: str) -> str:
    asked = part.question.strip().rstrip("?!.;: ")
    return texts.of(language).part_not_covered.format(part=asked)


def render_plain(reply: Reply) -> str:
    """The reply as the console chat prints it."""
    if reply.parts:
        lines = []
        for part in reply.parts:
            if part.fact is None:
                lines.append(_not_covered(part, reply.language))
                continue
            lines.append(_lead(part))
            lines.append(f'  "{" ".join(part.fact.quote.split())}"')
        lines.append(f"  -- {_source_line(reply)}")
        return "\n".join(lines)
    lines = [line for line in (_lead(reply),) if line]
    if reply.nearby is not None:
        lines.insert(0, _nearby_line(reply))
    if reply.fact is not None:
        lines.append(f'  "{" ".join(reply.fact.quote.split())}"')
        lines.append(f"  -- {_source_line(reply)}")
    if reply.suggestions:
        if reply.verdict is Verdict.UNCERTAIN:
            lines.append(texts.of(reply.language).uncertain_suggest)
        for number, fact in enumerate(reply.suggestions, 1):
            lines.append(f"  {number}. {suggestion_label(fact, reply.language)}")
        lines.append(texts.of(reply.language).suggest_plain_hint)
    return "\n".join(lines)


def render_html(reply: Reply) -> str:
    """The reply as Telegram HTML; suggestions travel separately as buttons.

    Everything is escaped, and each part has a budget, so the message is valid Telegram HTML
    within :data:`TELEGRAM_MAX_CHARS` whatever the knowledge file says.
    """
    if reply.parts:
        share = len(reply.parts)
        out = []
        for part in reply.parts:
            if part.fact is None:
                out.append(escape_within(_not_covered(part, reply.language), _LEAD_BUDGET // share))
                continue
            out.append(escape_within(_lead(part), _LEAD_BUDGET // share))
            quote = escape_within(" ".join(part.fact.quote.split()), _QUOTE_BUDGET // share)
            out.append(f"<blockquote>{quote}</blockquote>")
        out.append(f"<i>{escape_within(_source_line(reply), _SOURCE_BUDGET)}</i>")
        return "\n".join(out)
    parts = [escape_within(lead, _LEAD_BUDGET) for lead in (_lead(reply),) if lead]
    if reply.nearby is not None:
        parts.insert(0, escape_within(_nearby_line(reply), _NOTE_BUDGET + _LEAD_BUDGET // 2))
    if reply.fact is not None:
        quote = escape_within(" ".join(reply.fact.quote.split()), _QUOTE_BUDGET)
        parts.append(f"<blockquote>{quote}</blockquote>")
        parts.append(f"<i>{escape_within(_source_line(reply), _SOURCE_BUDGET)}</i>")
        if reply.suggestions and reply.verdict is Verdict.UNCERTAIN:
            note = texts.of(reply.language).uncertain_suggest
            parts.append(escape_within(note, _NOTE_BUDGET))
    return "\n".join(parts)


def to_json(reply: Reply) -> dict[str, Any]:
    """The ``ask --json`` contract; a message of several questions adds ``parts``, and its
    ``answer`` and ``quote`` are the answered parts' joined by newlines."""
    given = [p for p in reply.shown_parts() if p.fact is not None]
    out = {
        "question": reply.question,
        "answered": reply.answered,
        "fact_id": reply.fact.id if reply.fact else None,
        "answer": "\n".join(p.fact.answer_in(reply.language) for p in given if p.fact) or None,
        "quote": "\n".join(p.fact.quote for p in given if p.fact) or None,
        "score": max(0.0, min(100.0, reply.score)),
        "margin": reply.margin,
        "suggestions": [suggestion_label(f, reply.language) for f in reply.suggestions],
        "verdict": reply.verdict.value,
        "nearby": reply.nearby.id if reply.nearby is not None else None,
        "language": reply.language,
        "why": why_json(reply.why),
    }
    if reply.parts:
        out["parts"] = [
            {
                "question": p.question,
                "answered": p.fact is not None,
                "fact_id": p.fact.id if p.fact else None,
                "answer": p.fact.answer_in(reply.language) if p.fact else None,
                "quote": p.fact.quote if p.fact else None,
            }
            for p in reply.parts
        ]
    return out


def why_json(why: Why | None) -> dict[str, Any]:
    """``ask --json``'s ``why``: the reason, and each candidate's features when consulted."""
    if why is None:
        return {"reason": "fact chosen directly"}
    out: dict[str, Any] = {"reason": why.reason, "consulted": why.consulted}
    if why.consulted:
        out["segment"] = why.segment
        out["candidates"] = describe_candidates(why.candidates[:3])
        out["nearest_negative"] = why.negative
        out["nearest_smalltalk"] = why.smalltalk
    return out


@dataclass(frozen=True, slots=True)
class Card:
    """A fixed reply (/start, /help, /topics, /source): heading, lines and offered questions."""

    title: str
    lines: tuple[str, ...]
    suggestions: tuple[Fact, ...] = ()
    language: str = "en"

    def labels(self) -> tuple[str, ...]:
        """The offered questions in the card's language."""
        return tuple(suggestion_label(f, self.language) for f in self.suggestions)

    def plain(self) -> str:
        """The card as console text; offered questions are numbered."""
        labels = self.labels()
        # In Telegram the lines list the questions and buttons offer them; here the numbered
        # list is both, so a line that only repeats an offered question is left out.
        listed = {f"- {label}" for label in labels}
        out = [self.title, *(line for line in self.lines if line not in listed)]
        out.extend(f"  {n}. {label}" for n, label in enumerate(labels, 1))
        if self.suggestions:
            out.append(texts.of(self.language).suggest_plain_hint)
        return "\n".join(out)

    def html(self) -> str:
        """The card as Telegram HTML; offered questions travel as buttons.

        Lines that would take the message past :data:`TELEGRAM_MAX_CHARS` (a knowledge base
        with thousands of facts, say) are left out and replaced by one "…".
        """
        out = [f"<b>{escape_within(self.title, _TITLE_BUDGET)}</b>"]
        used = telegram_length(out[0])
        room = TELEGRAM_MAX_CHARS - len("\n…")
        for line in self.lines:
            escaped = escape_within(line, _LINE_BUDGET)
            cost = 1 + telegram_length(escaped)
            if used + cost > room:
                out.append("…")
                break
            out.append(escaped)
            used += cost
        return "\n".join(out)


COMMANDS: tuple[str, ...] = ("start", "help", "topics", "source")
ADMIN_COMMANDS: tuple[str, ...] = ("reload", "unanswered")


def command_menu(language: str = "en", admin: bool = False) -> tuple[tuple[str, str], ...]:
    """(command, description) pairs for the command menu and /help, in ``language``."""
    names = COMMANDS + (ADMIN_COMMANDS if admin else ())
    described = texts.of(language).commands
    return tuple((name, described[name]) for name in names)


def start_card(engine: Engine, language: str = "en") -> Card:
    """Greeting: what the bot knows and three example questions."""
    source = engine.kb.source
    said = texts.of(language)
    return Card(
        said.start_title,
        (
            f"{source.title} ({source.outlet}, {source.date}).",
            said.start_body.format(facts=len(engine.kb.facts)),
        ),
        engine.kb.example_facts,
        language,
    )


def help_card(engine: Engine, admin: bool = False, language: str = "en") -> Card:
    """How to use the bot and every command."""
    commands = command_menu(language, admin)
    said = texts.of(language)
    return Card(
        said.help_title,
        (
            *(line for line in (said.help_body, said.help_groups) if line),
            *(f"/{name} - {description}" for name, description in commands),
        ),
        engine.kb.example_facts,
        language,
    )


def topics_card(engine: Engine, language: str = "en") -> Card:
    """Every fact the bot can answer, one question each."""
    return Card(
        texts.of(language).topics_title.format(facts=len(engine.kb.facts)),
        tuple(f"- {suggestion_label(f, language)}" for f in engine.kb.facts),
        engine.kb.facts,
        language,
    )


def source_card(engine: Engine, language: str = "en") -> Card:
    """Title, outlet, author and date of the article."""
    source = engine.kb.source
    said = texts.of(language)
    label = said.source
    lines = [
        f"{label.title}: {source.title}",
        f"{label.outlet}: {source.outlet}",
        f"{label.author}: {source.author}",
        f"{label.date}: {source.date}",
    ]
    if source.url:
        lines.append(f"{label.link}: {source.url}")
    return Card(said.source_title, tuple(lines), (), language)
