"""The bot's Application with a recording network, and builders for the updates Telegram sends.

Shared by the in-process tests (access control, broken knowledge files, concurrency):
:func:`open_harness` builds the real application with :func:`bot.telegram.app.build_application`
and a :class:`~fakes.recording_request.RecordingRequest`, and :meth:`Harness.send` runs one
update through ``Application.process_update`` and waits for the outbox to send its replies,
returning the Bot API calls it caused. The outbox is a file in the test's temporary folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import BaseRateLimiter

from bot.config import Settings, load_settings
from bot.engine import Engine
from bot.match_settings import MatchSettings
from bot.ratelimit import RateLimiter
from bot.reloading import KnowledgeHolder
from bot.telegram.app import build_application
from bot.telegram.delivery import Delivery
from bot.telegram.state import BotState, TelegramApp
from fakes.recording_request import BOT_ID, BOT_USER, RecordingRequest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAE-test-SECRET-token"
ADMIN = 1001
USER = 2002
OTHER = 3003
GROUP = -1001234567890
CHANNEL = -1009876543210
ANONYMOUS_ADMIN_BOT = 1087968824

_update_ids = itertools.count(500_000)
_message_ids = itertools.count(900_000)


def person(user_id: int, name: str = "Tester", language_code: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
    if language_code is not None:
        user["language_code"] = language_code
    return user


def chat(chat_id: int) -> dict[str, Any]:
    if chat_id == CHANNEL:
        return {"id": chat_id, "type": "channel", "title": "Test channel"}
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Test group"}
    return {"id": chat_id, "type": "private", "first_name": "Tester"}


def message(
    text: str | None = None, *, chat_id: int = USER, from_id: int | None = USER, **extra: Any
) -> dict[str, Any]:
    """A Message as Telegram sends it (date in seconds); a leading /command gets its entity."""
    msg: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat(chat_id),
    }
    if from_id is not None:
        msg["from"] = BOT_USER if from_id == BOT_ID else person(from_id)
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0])
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    msg.update(extra)
    return msg


def update(kind: str = "message", **payload: Any) -> dict[str, Any]:
    return {"update_id": next(_update_ids), kind: payload}


def text_update(text: str, **kwargs: Any) -> dict[str, Any]:
    return update("message", **message(text, **kwargs))


def copy_knowledge(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    facts, article = folder / "facts.yaml", folder / "article.txt"
    shutil.copyfile(ROOT / "knowledge" / "facts.yaml", facts)
    shutil.copyfile(ROOT / "knowledge" / "article.txt", article)
    shutil.copytree(ROOT / "knowledge" / "lexicon", folder / "lexicon", dirs_exist_ok=True)
    return facts, article


def make_settings(tmp_path: Path, **telegram: Any) -> Settings:
    """The project's settings on temporary copies of the knowledge files; ADMIN is the admin."""
    base = load_settings(ROOT / "config" / "bot.yaml", env={})
    facts, article = copy_knowledge(tmp_path / "knowledge")
    return dataclasses.replace(
        base,
        facts=facts,
        article=article,
        telegram=dataclasses.replace(
            base.telegram,
            **{
                "admins": frozenset({ADMIN}),
                "base_url": None,
                "outbox_path": str(tmp_path / "outbox.sqlite3"),
                **telegram,
            },
        ),
        unanswered_file=None,
    )


class Harness:
    """A built application with a recording network; ``send`` processes one update."""

    def __init__(
        self, app: TelegramApp, request: RecordingRequest, holder: KnowledgeHolder
    ) -> None:
        self.app = app
        self.request = request
        self.holder = holder

    @property
    def engine(self) -> Engine:
        return self.holder.engine

    @property
    def state(self) -> BotState:
        return self.app.bot_data.state

    @property
    def delivery(self) -> Delivery:
        return self.state.delivery

    async def send(self, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Process one update and send its replies; return the Bot API calls it caused."""
        self.request.clear()
        await self.app.process_update(Update.de_json(data, self.app.bot))
        await self.delivery.drain()
        return list(self.request.calls)

    async def ask(self, text: str, **kwargs: Any) -> list[tuple[str, dict[str, Any]]]:
        return await self.send(text_update(text, **kwargs))


_ENGINES: dict[tuple[str, MatchSettings | None], Engine] = {}


def _folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def initial_holder(settings: Settings) -> KnowledgeHolder:
    """A holder on the settings' files, as ``KnowledgeHolder.load`` would make it."""
    return holder_on(settings.facts, settings.article, settings.matching)


def holder_on(facts: Path, article: Path, matching: MatchSettings | None = None) -> KnowledgeHolder:
    """``KnowledgeHolder.load(facts, article, matching)``, built once per folder content.

    An engine is immutable and takes ~0.4 s to build, so tests on identical knowledge folders
    share one, re-pointed at their own copy (a reload or the file watcher reads that copy).
    """
    folder = facts.parent
    key = (_folder_digest(folder), matching)
    engine = _ENGINES.get(key)
    if engine is None:
        holder = KnowledgeHolder.load(facts, article, matching)
        _ENGINES[key] = holder.engine
        return holder
    built_in = Path(engine.kb.path).parent
    kb = dataclasses.replace(
        engine.kb,
        path=str(facts),
        lexicon_paths=tuple(
            str(folder / Path(p).relative_to(built_in)) for p in engine.kb.lexicon_paths
        ),
    )
    return KnowledgeHolder(dataclasses.replace(engine, kb=kb), facts, article, matching)


@asynccontextmanager
async def open_harness(
    settings: Settings,
    holder: KnowledgeHolder | None = None,
    *,
    request: RecordingRequest | None = None,
    get_updates_request: RecordingRequest | None = None,
    limiter: RateLimiter | None = None,
    chat_limiter: RateLimiter | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    sleep: Callable[[float], Awaitable[Any]] | None = None,
) -> AsyncIterator[Harness]:
    """The application on ``holder`` (default: loaded from the settings' files)."""
    if holder is None:
        holder = initial_holder(settings)
    request = request or RecordingRequest()
    app = build_application(
        settings,
        holder,
        token=TOKEN,
        request=request,
        get_updates_request=get_updates_request or RecordingRequest(),
        limiter=limiter,
        chat_limiter=chat_limiter,
        rate_limiter=rate_limiter,
        **({"sleep": sleep} if sleep is not None else {}),
    )
    harness = Harness(app, request, holder)
    try:
        async with app:
            yield harness
    finally:
        await harness.delivery.stop(grace=0.5)
        harness.delivery.outbox.close()
