"""Rendering a reply or a card as the console chat prints it."""

from __future__ import annotations

from bot import texts
from bot.cards import Card
from bot.matcher import Verdict
from bot.replies import Reply
from bot.wording import lead, nearby_line, not_covered, source_line, suggestion_label


def render_plain(reply: Reply) -> str:
    """The reply as the console chat prints it."""
    if reply.parts:
        lines = []
        for part in reply.parts:
            if part.fact is None:
                lines.append(not_covered(part, reply.language))
                continue
            lines.append(lead(part))
            lines.append(f'  "{" ".join(part.fact.quote.split())}"')
        lines.append(f"  -- {source_line(reply)}")
        return "\n".join(lines)
    lines = [line for line in (lead(reply),) if line]
    if reply.nearby is not None:
        lines.insert(0, nearby_line(reply))
    if reply.fact is not None:
        lines.append(f'  "{" ".join(reply.fact.quote.split())}"')
        lines.append(f"  -- {source_line(reply)}")
    if reply.suggestions:
        if reply.verdict is Verdict.UNCERTAIN:
            lines.append(texts.of(reply.language).uncertain_suggest)
        for number, fact in enumerate(reply.suggestions, 1):
            lines.append(f"  {number}. {suggestion_label(fact, reply.language)}")
        lines.append(texts.of(reply.language).suggest_plain_hint)
    return "\n".join(lines)


def card_plain(card: Card) -> str:
    """The card as console text; offered questions are numbered."""
    labels = card.labels()
    # In Telegram the lines list the questions and buttons offer them; here the numbered
    # list is both, so a line that only repeats an offered question is left out.
    listed = {f"- {label}" for label in labels}
    out = [card.title, *(line for line in card.lines if line not in listed)]
    out.extend(f"  {n}. {label}" for n, label in enumerate(labels, 1))
    if card.suggestions:
        out.append(texts.of(card.language).suggest_plain_hint)
    return "\n".join(out)
