"""The log line per question, and the unanswered-questions file (``logging.unanswered_file``)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from telegram import Update

from bot.config import Settings
from bot.matcher import Verdict
from bot.replies import Reply

logger = logging.getLogger(__name__)


def _chat_type(update: Update) -> str:
    chat = update.effective_chat
    return str(chat.type) if chat is not None else "inline"


def user_id_of(update: Update) -> int | None:
    """The id of the user the update comes from, if any."""
    user = update.effective_user
    return user.id if user is not None else None


def _unanswered(reply: Reply) -> bool:
    return reply.fact is None and reply.verdict is not Verdict.SMALLTALK


def log_question(update: Update, reply: Reply, started: float, *, via: str = "message") -> None:
    """The one log line per question; unanswered ones start with ``UNANSWERED``.

    Inline queries arrive while the user is still typing, so they are logged as ``INLINE``
    and never count as unanswered (half-typed questions would flood the editor's list).
    """
    marker = "INLINE" if via == "inline" else ("UNANSWERED" if _unanswered(reply) else "QUESTION")
    latency_ms = round((time.perf_counter() - started) * 1000)
    line = "%s chat=%s user=%s via=%s fact=%s verdict=%s score=%.1f latency_ms=%d lang=%s"
    args: list[object] = [
        marker,
        _chat_type(update),
        user_id_of(update),
        via,
        reply.fact.id if reply.fact else "none",
        reply.verdict.value,
        reply.score,
        latency_ms,
        reply.language,
    ]
    if marker == "UNANSWERED":
        line += " question=%s"
        args.append(json.dumps(reply.question, ensure_ascii=False))
    logger.info(line, *args)


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


async def record_unanswered(settings: Settings, update: Update, reply: Reply) -> None:
    """Append an unanswered question to ``logging.unanswered_file`` (the editor's to-do list)."""
    path = settings.unanswered_file
    if path is None or not _unanswered(reply):
        return
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "question": reply.question,
        "chat_type": _chat_type(update),
        "verdict": reply.verdict.value,
        "score": round(reply.score, 1),
        "language": reply.language,
        "suggestions": [f.id for f in reply.suggestions],
        "knowledge_digest": reply.kb.digest[:16],
    }
    try:
        await asyncio.to_thread(_append_line, path, json.dumps(entry, ensure_ascii=False))
    except OSError as exc:
        logger.warning("cannot append to unanswered file %s: %s", path, exc)
