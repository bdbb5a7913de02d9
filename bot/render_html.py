"""Rendering a reply or a card as Telegram HTML, each part within its budget."""

from __future__ import annotations

from bot import texts
from bot.budget import (
    LEAD_BUDGET,
    LINE_BUDGET,
    NOTE_BUDGET,
    QUOTE_BUDGET,
    SOURCE_BUDGET,
    TELEGRAM_MAX_CHARS,
    TITLE_BUDGET,
    escape_within,
    telegram_length,
)
from bot.cards import Card
from bot.matcher import Verdict
from bot.replies import Reply
from bot.wording import lead, nearby_line, not_covered, source_line


def render_html(reply: Reply) -> str:
    """The reply as Telegram HTML; suggestions travel separately as buttons.

    Everything is escaped, and each part has a budget, so the message is valid Telegram HTML
    within :data:`~bot.budget.TELEGRAM_MAX_CHARS` whatever the knowledge file says.
    """
    if reply.parts:
        share = len(reply.parts)
        out = []
        for part in reply.parts:
            if part.fact is None:
                out.append(escape_within(not_covered(part, reply.language), LEAD_BUDGET // share))
                continue
            out.append(escape_within(lead(part), LEAD_BUDGET // share))
            quote = escape_within(" ".join(part.fact.quote.split()), QUOTE_BUDGET // share)
            out.append(f"<blockquote>{quote}</blockquote>")
        out.append(f"<i>{escape_within(source_line(reply), SOURCE_BUDGET)}</i>")
        return "\n".join(out)
    parts = [escape_within(line, LEAD_BUDGET) for line in (lead(reply),) if line]
    if reply.nearby is not None:
        parts.insert(0, escape_within(nearby_line(reply), NOTE_BUDGET + LEAD_BUDGET // 2))
    if reply.fact is not None:
        quote = escape_within(" ".join(reply.fact.quote.split()), QUOTE_BUDGET)
        parts.append(f"<blockquote>{quote}</blockquote>")
        parts.append(f"<i>{escape_within(source_line(reply), SOURCE_BUDGET)}</i>")
        if reply.suggestions and reply.verdict is Verdict.UNCERTAIN:
            note = texts.of(reply.language).uncertain_suggest
            parts.append(escape_within(note, NOTE_BUDGET))
    return "\n".join(parts)


def card_html(card: Card) -> str:
    """The card as Telegram HTML; offered questions travel as buttons.

    Lines that would take the message past :data:`~bot.budget.TELEGRAM_MAX_CHARS` (a
    knowledge base with thousands of facts, say) are left out and replaced by one "…".
    """
    out = [f"<b>{escape_within(card.title, TITLE_BUDGET)}</b>"]
    used = telegram_length(out[0])
    room = TELEGRAM_MAX_CHARS - len("\n…")
    for line in card.lines:
        escaped = escape_within(line, LINE_BUDGET)
        cost = 1 + telegram_length(escaped)
        if used + cost > room:
            out.append("…")
            break
        out.append(escaped)
        used += cost
    return "\n".join(out)
