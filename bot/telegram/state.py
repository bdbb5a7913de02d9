"""State shared by the handlers, kept in ``application.bot_data[STATE_KEY]``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final

from telegram.ext import filters

from bot.config import Settings
from bot.ratelimit import RateLimiter
from bot.reloading import KnowledgeHolder
from bot.telegram.transport import Lifecycle, SeenUpdates

STATE_KEY: Final = "article_bot"


@dataclass(slots=True)
class BotState:
    """What the handlers share, kept in ``application.bot_data``."""

    settings: Settings
    holder: KnowledgeHolder
    limiter: RateLimiter
    admin_filter: filters.BaseFilter
    watcher: asyncio.Task[None] | None = None
    watcher_stop: asyncio.Event | None = None
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    seen: SeenUpdates = field(default_factory=SeenUpdates)
