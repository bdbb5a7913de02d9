"""Application start and stop: the command menus, and the knowledge-file watcher."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.language import LANGUAGES
from bot.reloading import KnowledgeHolder, ReloadFailure
from bot.replies import command_menu
from bot.telegram.state import STATE_KEY, BotState
from bot.telegram.transport import TelegramApp

logger = logging.getLogger(__name__)


async def watch_knowledge(holder: KnowledgeHolder, stop: asyncio.Event) -> None:
    """Reload whenever the facts or article file changes (``telegram.auto_reload``)."""
    from watchfiles import awatch

    targets = {holder.facts.resolve(), holder.article.resolve()}
    folders = sorted({str(p.parent) for p in targets})

    def relevant(_change: object, path: str) -> bool:
        return Path(path).resolve() in targets

    logger.info("watching %s for changes", ", ".join(str(p) for p in sorted(targets)))
    async for changes in awatch(*folders, watch_filter=relevant, stop_event=stop, recursive=False):
        logger.info("knowledge files changed (%d event(s)); reloading", len(changes))
        try:
            outcome = await holder.reload()
        except Exception:
            logger.exception("auto-reload failed")
            continue
        if isinstance(outcome, ReloadFailure):
            logger.error("auto-reload refused; still serving the old version:\n%s", outcome.error)
        else:
            logger.info("auto-reload: %s", " ".join(outcome.lines()))


def _watcher_done(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("the knowledge watcher stopped", exc_info=task.exception())


async def post_init(application: TelegramApp) -> None:
    """Publish the command menus and start the file watcher (``telegram.auto_reload``)."""
    state: BotState = application.bot_data[STATE_KEY]
    bot = application.bot
    public = [BotCommand(name, description) for name, description in command_menu()]
    admin = [BotCommand(name, description) for name, description in command_menu(admin=True)]
    # Telegram shows users the menu of their client's language, English otherwise.
    for language in (None, *(code for code in LANGUAGES if code != "en")):
        menu = (
            public
            if language is None
            else [BotCommand(name, description) for name, description in command_menu(language)]
        )
        try:
            await bot.set_my_commands(menu, scope=BotCommandScopeDefault(), language_code=language)
        except TelegramError as exc:
            logger.warning("could not set the command menu (%s): %s", language or "default", exc)
    for admin_id in sorted(state.settings.telegram.admins):
        try:
            await bot.set_my_commands(admin, scope=BotCommandScopeChat(chat_id=admin_id))
        except TelegramError as exc:
            # Fails for an admin who never started a chat with the bot; not fatal.
            logger.warning("could not set the admin command menu for user %s: %s", admin_id, exc)
    if state.settings.telegram.auto_reload:
        state.watcher_stop = asyncio.Event()
        state.watcher = asyncio.create_task(
            watch_knowledge(state.holder, state.watcher_stop), name="knowledge-watcher"
        )
        state.watcher.add_done_callback(_watcher_done)
    logger.info(
        "bot @%s ready: %d facts from %s, mode %s, admins %d",
        bot.username,
        len(state.holder.engine.kb.facts),
        state.holder.facts,
        state.settings.telegram.mode,
        len(state.settings.telegram.admins),
    )


async def post_shutdown(application: TelegramApp) -> None:
    """Stop the file watcher, if any."""
    state: BotState | None = application.bot_data.get(STATE_KEY)
    if state is None or state.watcher is None:
        return
    if state.watcher_stop is not None:
        state.watcher_stop.set()
    state.watcher.cancel()
    await asyncio.wait([state.watcher], timeout=3)
    state.watcher = None
