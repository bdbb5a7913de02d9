"""What a reply says, line by line, before it is rendered as plain text or HTML.

The lead (the answer, the decline, the small-talk line), the source line, the nearby line,
a part not covered, and a suggestion's label; the renderers lay them out.
"""

from __future__ import annotations

from bot import texts
from bot.knowledge_model import Fact
from bot.matcher import Verdict
from bot.replies import Reply


def suggestion_label(fact: Fact, language: str = "en") -> str:
    """The question a suggestion offers: the fact's first phrasing in ``language``."""
    return fact.question_in(language)


def lead(reply: Reply) -> str:
    said = texts.of(reply.language)
    if reply.verdict is Verdict.SMALLTALK:
        return said.smalltalk.get(reply.intent or "help", said.smalltalk["help"])
    if reply.fact is None and reply.nearby is not None:  # the nearby line says "doesn't say"
        return said.suggest_only if reply.suggestions else ""
    if reply.fact is None:
        return said.no_answer_suggest if reply.suggestions else said.no_answer
    return reply.fact.answer_in(reply.language)


def source_line(reply: Reply) -> str:
    source = reply.kb.source
    return texts.of(reply.language).source_line.format(outlet=source.outlet, date=source.date)


def nearby_line(reply: Reply) -> str:
    assert reply.nearby is not None
    answer = reply.nearby.answer_in(reply.language)
    return texts.of(reply.language).nearby.format(answer=answer)


def not_covered(part: Reply, language: str) -> str:
    asked = part.question.strip().rstrip("?!.;: ")
    return texts.of(language).part_not_covered.format(part=asked)
