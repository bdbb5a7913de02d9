"""The application: its handlers, how it is built, and ``run`` (``python -m bot run``)."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import sys
from typing import Any, Final

from telegram import Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import Settings
from bot.knowledge import KnowledgeError
from bot.logsetup import RedactingFilter, configure_logging
from bot.ratelimit import RateLimiter
from bot.reloading import KnowledgeHolder
from bot.telegram.filters import MENTIONS_BOT, NEW_MESSAGE, NON_TEXT, REPLIES_TO_BOT, admin_filter
from bot.telegram.handlers import (
    drop_repeated_update,
    group_question,
    help_command,
    inline_query,
    non_text,
    on_error,
    private_question,
    refuse_reload,
    reload_knowledge,
    source,
    stale_callback,
    start,
    suggestion_tapped,
    topics,
    unknown_command,
)
from bot.telegram.hooks import post_init, post_shutdown
from bot.telegram.state import STATE_KEY, BotState
from bot.telegram.transport import (
    ALLOWED_UPDATES,
    Lifecycle,
    ResilientRequest,
    TelegramApp,
    install_stop_signals,
    poll_updates,
)

logger = logging.getLogger(__name__)

TOKEN_ENV: Final = "TELEGRAM_BOT_TOKEN"


def file_url_for(base_url: str) -> str:
    """The file-download base matching a Bot API base (``.../bot`` -> ``.../file/bot``)."""
    head, sep, tail = base_url.rpartition("/bot")
    if not sep:
        return base_url
    return f"{head}/file/bot{tail}"


def add_handlers(application: TelegramApp, admins: filters.BaseFilter) -> None:
    """Register every handler, in an order that matters.

    All handlers sit in group 0, where the FIRST handler whose filters match takes the update
    and the rest are skipped. Hence:

    1. the admin /reload comes before the refusal, which catches every /reload left over
       (non-admins, forwards, anonymous admins, channel posts);
    2. commands come before the text handlers, which also exclude commands themselves;
    3. every message handler requires ``filters.UpdateType.MESSAGE``, so edited messages and
       (except for the /reload refusal) channel posts match nothing and are ignored.

    Before all of them, in group -1, :func:`drop_repeated_update` stops an update whose id
    was handled already.
    """
    new, private, groups = NEW_MESSAGE, filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    application.add_handler(TypeHandler(Update, drop_repeated_update), group=-1)
    application.add_handlers(
        [
            CommandHandler("reload", reload_knowledge, filters=admins),
            CommandHandler("reload", refuse_reload, filters=new | filters.UpdateType.CHANNEL_POST),
            CommandHandler("start", start, filters=new),
            CommandHandler("help", help_command, filters=new),
            CommandHandler("topics", topics, filters=new),
            CommandHandler("source", source, filters=new),
            MessageHandler(new & private & filters.COMMAND, unknown_command),
            MessageHandler(new & private & filters.TEXT & ~filters.COMMAND, private_question),
            MessageHandler(
                new & groups & filters.TEXT & ~filters.COMMAND & (MENTIONS_BOT | REPLIES_TO_BOT),
                group_question,
            ),
            MessageHandler(new & private & NON_TEXT, non_text),
            MessageHandler(new & groups & NON_TEXT & REPLIES_TO_BOT, non_text),
            CallbackQueryHandler(suggestion_tapped, pattern=r"^fact[:#]"),
            CallbackQueryHandler(stale_callback),
            InlineQueryHandler(inline_query),
        ]
    )
    application.add_error_handler(on_error)


def build_application(
    settings: Settings,
    holder: KnowledgeHolder,
    *,
    token: str,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    limiter: RateLimiter | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    concurrent_updates: int = 1,
) -> TelegramApp:
    """The configured Application with every handler.

    ``request`` and ``get_updates_request`` replace the network (default: a
    :class:`ResilientRequest` each); ``limiter`` is the per-user flood control and
    ``rate_limiter`` PTB's limiter for Telegram's own limits (default: ``AIORateLimiter``).
    ``concurrent_updates`` is how many updates ``process_update`` handles at once (the bot
    itself handles them one by one, in order).
    """
    lifecycle = Lifecycle()
    builder = (
        ApplicationBuilder()
        .token(token)
        .concurrent_updates(concurrent_updates)
        .rate_limiter(rate_limiter if rate_limiter is not None else AIORateLimiter(max_retries=3))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if settings.telegram.base_url:
        builder = builder.base_url(settings.telegram.base_url).base_file_url(
            file_url_for(settings.telegram.base_url)
        )
    if request is None:
        request = ResilientRequest(lifecycle, connection_pool_size=256)
    if get_updates_request is None:
        get_updates_request = ResilientRequest(lifecycle, connection_pool_size=1)
    builder = builder.request(request).get_updates_request(get_updates_request)
    application: TelegramApp = builder.build()
    admins = admin_filter(settings.telegram.admins)
    tg = settings.telegram
    application.bot_data[STATE_KEY] = BotState(
        settings=settings,
        holder=holder,
        limiter=limiter
        if limiter is not None
        else RateLimiter(tg.rate_limit_questions, tg.rate_limit_seconds),
        admin_filter=admins,
        lifecycle=lifecycle,
    )
    add_handlers(application, admins)
    return application


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


async def serve(application: TelegramApp, settings: Settings, lifecycle: Lifecycle) -> None:
    """Run the initialised bot until SIGTERM/SIGINT, then stop it and shut it down."""
    install_stop_signals(asyncio.get_running_loop(), lifecycle)
    allowed = list(ALLOWED_UPDATES)
    updater = application.updater
    try:
        await post_init(application)
        await application.start()
        if settings.telegram.mode == "webhook":
            if updater is None:  # pragma: no cover - build_application always makes one
                raise RuntimeError("webhook mode needs PTB's updater")
            hook = settings.telegram.webhook
            await updater.start_webhook(
                listen=hook.listen,
                port=hook.port,
                url_path=hook.path,
                webhook_url=hook.url,
                secret_token=hook.secret_token,
                allowed_updates=allowed,
            )
            await lifecycle.wait()
        else:
            await poll_updates(application, lifecycle, allowed)
    finally:
        if updater is not None and updater.running:
            await updater.stop()
        if application.running:
            await application.stop()  # works off what is queued (webhook mode)
        await application.shutdown()
        await post_shutdown(application)


def run(settings: Settings, holder: KnowledgeHolder | None = None) -> int:
    """Start the bot (polling, or webhook by config) until SIGINT/SIGTERM; the exit status.

    ``holder`` is the knowledge base already loaded (``python -m bot run`` loads it before
    importing this module); without it, it is loaded here. Either way a broken knowledge
    file stops the start before any network use.
    """
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return _fail(f"{TOKEN_ENV} is not set; export the token @BotFather gave you")
    if settings.telegram.auto_reload and importlib.util.find_spec("watchfiles") is None:
        return _fail(
            "telegram.auto_reload needs the watchfiles package: pip install 'article-qa-bot[watch]'"
        )
    if holder is None:
        try:
            holder = KnowledgeHolder.load(settings.facts, settings.article, settings.matching)
        except KnowledgeError as exc:
            return _fail(f"knowledge base error:\n{exc}")
    secrets = [token, settings.telegram.webhook.secret_token or ""]
    configure_logging(settings.log_level, secrets)
    redactor = RedactingFilter(secrets)
    application = build_application(settings, holder, token=token)
    lifecycle: Lifecycle = application.bot_data[STATE_KEY].lifecycle

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        # Initialise here (getMe) rather than inside run_polling, which logs a traceback for a
        # rejected token: a bad token must be one line on stderr.
        loop.run_until_complete(application.initialize())
    except InvalidToken:
        loop.close()
        return _fail(f"Telegram rejected the bot token in {TOKEN_ENV}; check it with @BotFather")
    except NetworkError as exc:
        loop.close()
        return _fail(f"cannot reach the Telegram Bot API: {redactor.redact(str(exc))}")

    try:
        loop.run_until_complete(serve(application, settings, lifecycle))
    except InvalidToken:
        logger.error("Telegram no longer accepts the bot token in %s; stopping", TOKEN_ENV)
        return 1
    except Exception:
        logger.exception("the bot stopped on an unexpected error")
        return 1
    finally:
        lifecycle.cancel_watchdog()
        loop.close()
    logger.info("bot stopped")
    return 0
