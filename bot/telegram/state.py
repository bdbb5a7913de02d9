"""State shared by the handlers, kept in ``application.bot_data[STATE_KEY]``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final

from telegram.ext import filters

from bot.config import Settings
from bot.conversation import Conversations
from bot.ratelimit import FloodControl, RateLimiter
from bot.reloading import KnowledgeHolder
from bot.telegram.delivery import Delivery
from bot.telegram.transport import Lifecycle, SeenUpdates

STATE_KEY: Final = "article_bot"
ADMIN_REPORTS: Final = (3, 600.0)
"""At most 3 error reports per 10 minutes reach the admins (then one note, then the log)."""


@dataclass(slots=True)
class BotState:
    """What the handlers share, kept in ``application.bot_data``."""

    settings: Settings
    holder: KnowledgeHolder
    limiter: RateLimiter
    admin_filter: filters.BaseFilter
    delivery: Delivery
    flood: FloodControl
    watcher: asyncio.Task[None] | None = None
    watcher_stop: asyncio.Event | None = None
    menus: asyncio.Task[None] | None = None
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    seen: SeenUpdates = field(default_factory=SeenUpdates)
    error_reports: RateLimiter = field(default_factory=lambda: RateLimiter(*ADMIN_REPORTS))
    conversations: Conversations = field(default_factory=Conversations)
    """Each conversation's last question and answer (follow-ups lean on them)."""
