"""State shared by the handlers, and the typed context that carries it.

``application.bot_data`` is a :class:`BotData` (PTB's ``ContextTypes(bot_data=BotData)``),
so a handler reads ``context.bot_data.state`` as a :class:`BotState`, with no casts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, filters

from bot.config import Settings
from bot.conversation import Conversations
from bot.ratelimit import FloodControl, RateLimiter
from bot.reloading import KnowledgeHolder
from bot.telegram.delivery import Delivery
from bot.telegram.lifecycle import Lifecycle
from bot.telegram.updates import SeenUpdates

ADMIN_REPORTS: Final = (3, 600.0)
"""At most 3 error reports per 10 minutes reach the admins (then one note, then the log)."""


@dataclass(slots=True)
class BotState:
    """What the handlers share, in ``application.bot_data.state``."""

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


class BotData:
    """``application.bot_data``: the bot's one :class:`BotState` (set by build_application)."""

    __slots__ = ("_state",)

    def __init__(self) -> None:  # PTB makes it with no arguments
        self._state: BotState | None = None

    @property
    def state(self) -> BotState:
        if self._state is None:  # pragma: no cover - programming error
            raise RuntimeError("the application was not built with build_application()")
        return self._state

    @state.setter
    def state(self, state: BotState) -> None:
        self._state = state


BotContext: TypeAlias = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]
"""What every handler gets: ``context.bot_data.state`` is typed."""
CONTEXT_TYPES: Final = ContextTypes(bot_data=BotData)
TelegramApp: TypeAlias = Application[
    ExtBot[Any], BotContext, dict[Any, Any], dict[Any, Any], BotData, Any
]
"""The application :func:`~bot.telegram.app.build_application` makes (no job queue is used)."""
