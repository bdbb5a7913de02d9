"""Rendering a reply as the ``ask --json`` object."""

from __future__ import annotations

from typing import Any

from bot.engine import Why, describe_candidates
from bot.replies import Reply
from bot.wording import suggestion_label


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
