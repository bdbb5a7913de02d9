"""The application: its handlers, how it is built, and ``run`` (``python -m bot run``)."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Final

from telegram import Update
from telegram.constants import FloodLimit, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import Settings
from bot.conversation import Conversations
from bot.knowledge_model import KnowledgeError
from bot.logsetup import RedactingFilter, configure_logging
from bot.outbox import Outbox, OutboxInUse
from bot.ratelimit import FloodControl, RateLimiter
from bot.reloading import KnowledgeHolder
from bot.telegram.delivery import Delivery, OutboxRateLimiter, PerChatUpdateProcessor
from bot.telegram.filters import MENTIONS_BOT, NEW_MESSAGE, NON_TEXT, REPLIES_TO_BOT, admin_filter
from bot.telegram.handlers import (
    drop_repeated_update,
    flood_limited,
    group_question,
    help_command,
    inline_query,
    non_text,
    on_error,
    private_question,
    refuse_admin_command,
    reload_knowledge,
    source,
    stale_callback,
    start,
    suggestion_tapped,
    topics,
    unanswered,
    unknown_command,
)
from bot.telegram.heartbeat import Heartbeat
from bot.telegram.hooks import post_init, post_shutdown
from bot.telegram.lifecycle import Lifecycle
from bot.telegram.polling import STOP_WAIT_SECONDS, poll_updates
from bot.telegram.retries import ResilientRequest
from bot.telegram.signals import install_stop_signals
from bot.telegram.state import CONTEXT_TYPES, BotState, TelegramApp
from bot.telegram.updates import ALLOWED_UPDATES
from bot.telegram.webhook import WebhookServer

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

    1. each admin command (/reload, /unanswered) comes before its refusal, which catches
       every one left over (non-admins, forwards, anonymous admins, channel posts);
    2. commands come before the text handlers, which also exclude commands themselves;
    3. every message handler requires ``filters.UpdateType.MESSAGE``, so edited messages and
       (except for the admin commands' refusals) channel posts match nothing and are
       ignored.

    Every handler a user can trigger is wrapped in :func:`flood_limited`, so the flood
    control counts exactly the updates the bot would answer: a group message that does not
    mention the bot costs nothing, a command or a button tap counts like a question.

    Before all of them, in group -1, :func:`drop_repeated_update` stops an update whose id
    was handled already.
    """
    new, private, groups = NEW_MESSAGE, filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    limited = flood_limited
    anyone = new | filters.UpdateType.CHANNEL_POST  # whom an admin command's refusal answers
    application.add_handler(TypeHandler(Update, drop_repeated_update), group=-1)
    application.add_handlers(
        [
            CommandHandler("reload", limited(reload_knowledge), filters=admins),
            CommandHandler("reload", limited(refuse_admin_command), filters=anyone),
            CommandHandler("unanswered", limited(unanswered), filters=admins),
            CommandHandler("unanswered", limited(refuse_admin_command), filters=anyone),
            CommandHandler("start", limited(start), filters=new),
            CommandHandler("help", limited(help_command), filters=new),
            CommandHandler("topics", limited(topics), filters=new),
            CommandHandler("source", limited(source), filters=new),
            MessageHandler(new & private & filters.COMMAND, limited(unknown_command)),
            MessageHandler(
                new & private & filters.TEXT & ~filters.COMMAND, limited(private_question)
            ),
            MessageHandler(
                new & groups & filters.TEXT & ~filters.COMMAND & (MENTIONS_BOT | REPLIES_TO_BOT),
                limited(group_question),
            ),
            MessageHandler(new & private & NON_TEXT, limited(non_text)),
            MessageHandler(new & groups & NON_TEXT & REPLIES_TO_BOT, limited(non_text)),
            CallbackQueryHandler(limited(suggestion_tapped), pattern=r"^fact[:#]"),
            CallbackQueryHandler(limited(stale_callback)),
            InlineQueryHandler(limited(inline_query)),
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
    chat_limiter: RateLimiter | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    outbox: Outbox | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> TelegramApp:
    """The configured Application with every handler.

    ``request`` and ``get_updates_request`` replace the network (default: a
    :class:`ResilientRequest` each); ``limiter`` and ``chat_limiter`` are the flood control
    per user and per group; ``rate_limiter`` is PTB's limiter for Telegram's own sending
    limits (default: :class:`OutboxRateLimiter`); ``outbox`` the durable outbox (default:
    opened at ``telegram.outbox_path``); ``sleep`` how the outbox waits between retries.
    Updates are handled concurrently, one at a time per chat (:class:`PerChatUpdateProcessor`).
    """
    lifecycle = Lifecycle()
    tg = settings.telegram
    if outbox is None:
        outbox = Outbox(settings.outbox_file, tg.outbox_expiry_hours * 3600)
    delivery = Delivery(outbox, stopping=lambda: lifecycle.stopping, sleep=sleep)
    builder = (
        ApplicationBuilder()
        .token(token)
        .context_types(CONTEXT_TYPES)
        .defaults(Defaults(parse_mode=ParseMode.HTML))  # a stored reply without one is HTML
        .updater(None)  # polling and the webhook are ours: they confirm only what is stored
        .concurrent_updates(PerChatUpdateProcessor(on_done=delivery.finished))
        .rate_limiter(rate_limiter if rate_limiter is not None else OutboxRateLimiter())
    )
    if tg.base_url:
        builder = builder.base_url(tg.base_url).base_file_url(file_url_for(tg.base_url))
    if request is None:
        request = ResilientRequest(lifecycle, connection_pool_size=256)
    if get_updates_request is None:
        get_updates_request = ResilientRequest(lifecycle, connection_pool_size=1)
    builder = builder.request(request).get_updates_request(get_updates_request)
    application: TelegramApp = builder.build()
    delivery.attach(application)
    admins = admin_filter(tg.admins)
    per_user = (
        limiter
        if limiter is not None
        else RateLimiter(tg.rate_limit_questions, tg.rate_limit_seconds)
    )
    # Telegram lets a bot send about 20 messages a minute to one group: more answers than
    # that would only queue up behind each other.
    per_group = (
        chat_limiter
        if chat_limiter is not None
        else RateLimiter(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP, 60.0)
    )
    application.bot_data.state = BotState(
        settings=settings,
        holder=holder,
        limiter=per_user,
        admin_filter=admins,
        delivery=delivery,
        flood=FloodControl(per_user, per_group),
        lifecycle=lifecycle,
        conversations=Conversations(settings.context_minutes * 60),
    )
    add_handlers(application, admins)
    return application


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


async def serve(application: TelegramApp, settings: Settings, lifecycle: Lifecycle) -> None:
    """Run the initialised bot until SIGTERM/SIGINT, then stop it and shut it down.

    Nothing slow stands before the first answer: the outbox left by the last run is queued,
    the command menus are published in the background, and polling (or the webhook) starts.
    """
    install_stop_signals(asyncio.get_running_loop(), lifecycle)
    state = application.bot_data.state
    delivery = state.delivery
    allowed = list(ALLOWED_UPDATES)
    server: WebhookServer | None = None
    heartbeat = Heartbeat(settings.heartbeat_file)
    beating: asyncio.Task[None] | None = None
    try:
        await application.start()  # the update processor's fetcher
        delivery.resume()  # replies an earlier run could not send go first
        await post_init(application)
        if settings.telegram.mode == "webhook":
            hook = settings.telegram.webhook
            if hook.url is None or hook.secret_token is None:  # pragma: no cover - config
                raise RuntimeError("webhook mode needs a URL and a secret token")
            server = WebhookServer(
                delivery,
                application.bot,
                path=hook.path,
                secret_token=hook.secret_token,
                listen=hook.listen,
                port=hook.port,
            )
            await server.start()
            await application.bot.set_webhook(
                url=hook.url, secret_token=hook.secret_token, allowed_updates=allowed
            )
            beating = asyncio.create_task(heartbeat.keep_beating(lifecycle), name="heartbeat")
            await lifecycle.wait()
        else:
            await poll_updates(application, delivery, lifecycle, allowed, heartbeat)
    finally:
        lifecycle.stopping = True
        if beating is not None:
            beating.cancel()
        if server is not None:
            await server.stop(STOP_WAIT_SECONDS)
        if application.running:
            await application.stop()  # finishes the updates in hand: their replies are stored
        await delivery.stop()
        await application.shutdown()
        await post_shutdown(application)
        delivery.outbox.close()


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
    try:
        application = build_application(settings, holder, token=token)
    except OutboxInUse as exc:
        return _fail(str(exc))
    except (sqlite3.Error, OSError) as exc:
        return _fail(f"cannot open the outbox {settings.outbox_file}: {exc}")
    lifecycle = application.bot_data.state.lifecycle

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        # Initialise here (getMe) rather than inside run_polling, which logs a traceback for a
        # rejected token: a bad token must be one line on stderr.
        loop.run_until_complete(application.initialize())
    except InvalidToken:
        loop.close()
        return _fail(f"Telegram rejected the bot token in {TOKEN_ENV}; check it with @BotFather")
    except BadRequest as exc:  # a subclass of NetworkError in PTB, but Telegram did answer
        loop.close()
        return _fail(f"Telegram refused getMe: {redactor.redact(str(exc))}")
    except NetworkError as exc:
        loop.close()
        return _fail(f"cannot reach the Telegram Bot API: {redactor.redact(str(exc))}")
    except TelegramError as exc:  # 403, 429 and the like at start: one line, not a traceback
        loop.close()
        return _fail(f"Telegram refused getMe: {redactor.redact(str(exc))}")

    try:
        loop.run_until_complete(serve(application, settings, lifecycle))
    except InvalidToken:
        logger.error("Telegram no longer accepts the bot token in %s; stopping", TOKEN_ENV)
        return 1
    except TelegramError as exc:  # setWebhook refused: one line, not a traceback
        return _fail(f"Telegram refused to start the bot: {redactor.redact(str(exc))}")
    except Exception:
        logger.exception("the bot stopped on an unexpected error")
        return 1
    finally:
        lifecycle.cancel_watchdog()
        loop.close()
    logger.info("bot stopped")
    return 0
