"""Application start and stop: the command menus, and the knowledge-file watcher."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Final

from telegram import Bot, BotCommand, BotCommandScope, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import BadRequest, Forbidden, InvalidToken, TelegramError

from bot.commands import command_menu
from bot.knowledge_load import knowledge_files
from bot.language import LANGUAGES
from bot.reloading import KnowledgeHolder, ReloadFailure
from bot.telegram.lifecycle import Lifecycle
from bot.telegram.state import TelegramApp

logger = logging.getLogger(__name__)


async def watch_knowledge(holder: KnowledgeHolder, stop: asyncio.Event) -> None:
    """Reload whenever the facts file, a lexicon file or the article changes
    (``telegram.auto_reload``)."""
    from watchfiles import awatch

    def targets() -> set[Path]:
        # Read afresh for every event: a reload may have changed the list of lexicon files.
        files = knowledge_files(holder.engine.kb, holder.facts, holder.article)
        return {path.resolve() for path in files}

    # The facts file's folder is watched with its subfolders, where lexicon files live.
    folders = sorted({str(holder.facts.resolve().parent), str(holder.article.resolve().parent)})

    def relevant(_change: object, path: str) -> bool:
        return Path(path).resolve() in targets()

    logger.info("watching %s for changes", ", ".join(str(p) for p in sorted(targets())))
    async for changes in awatch(*folders, watch_filter=relevant, stop_event=stop):
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


MENU_FIRST_RETRY: Final = 1.0
MENU_MAX_RETRY: Final = 300.0
MENU_ATTEMPTS: Final = 12
"""setMyCommands is retried 1, 2, 4 ... 300 s apart, 12 times (about half an hour)."""


def menus(admins: frozenset[int]) -> list[tuple[list[BotCommand], BotCommandScope, str | None]]:
    """Every command menu to publish: (commands, scope, language), in every language.

    Telegram shows a user the menu of their client's language, the one without a language
    otherwise (English here). Admins get theirs in their private chat, /reload included, in
    every language as well.
    """
    languages: list[str | None] = [None, *(code for code in LANGUAGES if code != "en")]
    out: list[tuple[list[BotCommand], BotCommandScope, str | None]] = []
    for language in languages:
        public = [BotCommand(n, d) for n, d in command_menu(language or "en")]
        out.append((public, BotCommandScopeDefault(), language))
    for admin_id in sorted(admins):
        for language in languages:
            admin = [BotCommand(n, d) for n, d in command_menu(language or "en", admin=True)]
            out.append((admin, BotCommandScopeChat(chat_id=admin_id), language))
    return out


async def publish_menus(
    bot: Bot,
    admins: frozenset[int],
    lifecycle: Lifecycle,
    first_retry: float = MENU_FIRST_RETRY,
) -> None:
    """Publish every command menu, retrying each with backoff; runs in the background, so
    nothing waits for it (the bot answers without its menus meanwhile)."""
    for commands, scope, language in menus(admins):
        where = f"{scope.type} {getattr(scope, 'chat_id', '')}".strip()
        for attempt in range(MENU_ATTEMPTS):
            try:
                await bot.set_my_commands(commands, scope=scope, language_code=language)
                break
            except InvalidToken:
                return
            except (BadRequest, Forbidden) as exc:
                # An admin who never started a chat with the bot cannot get a menu: not
                # fatal, and asking again would be refused the same way.
                logger.warning(
                    "could not set the command menu (%s, %s): %s", where, language or "default", exc
                )
                break
            except TelegramError as exc:  # the Bot API is down or busy: later
                if lifecycle.stopping:  # the stop cut the request: nothing is wrong
                    logger.info("command menus left unpublished: the bot is stopping")
                    return
                wait = min(MENU_MAX_RETRY, first_retry * 2**attempt)
                logger.warning(
                    "could not set the command menu (%s, %s): %s; retry in %.0f s",
                    where,
                    language or "default",
                    exc,
                    wait,
                )
                if attempt + 1 == MENU_ATTEMPTS or await lifecycle.sleep(wait):
                    logger.warning(
                        "gave up the command menu (%s, %s)", where, language or "default"
                    )
                    break
    logger.info("command menus published")


def _background_done(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("%s stopped", task.get_name(), exc_info=task.exception())


async def post_init(application: TelegramApp) -> None:
    """Start publishing the command menus and the file watcher (``telegram.auto_reload``),
    both in the background: neither holds up the first answer."""
    state = application.bot_data.state
    bot = application.bot
    state.menus = asyncio.create_task(
        publish_menus(bot, state.settings.telegram.admins, state.lifecycle), name="command-menus"
    )
    state.menus.add_done_callback(_background_done)
    if state.settings.telegram.auto_reload:
        state.watcher_stop = asyncio.Event()
        state.watcher = asyncio.create_task(
            watch_knowledge(state.holder, state.watcher_stop), name="knowledge-watcher"
        )
        state.watcher.add_done_callback(_background_done)
    logger.info(
        "bot @%s ready: %d facts from %s, mode %s, admins %d",
        bot.username,
        len(state.holder.engine.kb.facts),
        state.holder.facts,
        state.settings.telegram.mode,
        len(state.settings.telegram.admins),
    )


async def post_shutdown(application: TelegramApp) -> None:
    """Stop the menu task and the file watcher, if any."""
    state = application.bot_data.state
    if state.menus is not None:
        state.menus.cancel()
        await asyncio.wait([state.menus], timeout=1)
        state.menus = None
    if state.watcher is None:
        return
    if state.watcher_stop is not None:
        state.watcher_stop.set()
    state.watcher.cancel()
    await asyncio.wait([state.watcher], timeout=3)
    state.watcher = None
