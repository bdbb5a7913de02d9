"""The Telegram front end: ``python -m bot run`` (python-telegram-bot 22).

Every reply comes from :mod:`bot.replies`; this module only decides *when* to answer and how
to send it. Behaviour worth knowing:

* **Private chats**: every new text message that is not a command is a question; other
  messages (sticker, photo, voice, ...) get :data:`bot.texts.NON_TEXT`; unknown commands get
  the /help card.
* **Groups and supergroups**: the bot answers its commands, text messages that mention it
  (``@username``, any case; the mention is removed from the question) and replies to its own
  messages. Non-text messages get :data:`bot.texts.NON_TEXT` only when they reply to the bot.
  Everything else is ignored silently.
* **Edited messages are ignored**: an edit is never re-answered and never executed as a
  command, so editing a message into ``/reload`` does nothing. Every handler filters on
  ``filters.UpdateType.MESSAGE`` (new messages only; PTB's ``CommandHandler`` would otherwise
  also fire on edits), and polling/webhook ask Telegram only for :data:`ALLOWED_UPDATES`,
  which leaves edits out.
* **/reload** is for admins (``telegram.admins`` / ``BOT_ADMINS``) sending the command
  themselves: a message forwarded from an admin, a channel post and a message sent as an
  anonymous group admin (``sender_chat`` set, or from ``GroupAnonymousBot``) are refused
  like anyone else's, politely and with a log line; nothing is reloaded.
* **Inline mode** (``@username question`` in any chat): answers as articles to send; an
  empty query offers the example questions.
* **Flood control**: ``telegram.rate_limit`` questions per user per window (button taps and
  non-text messages count too); over it, one short note per window, then silence. Telegram's
  own limits and 429 answers are handled by PTB's ``AIORateLimiter``.
* **Language**: a question is answered in its own language, else the user's Telegram client
  language (``language_code``), else English; cards, notes and button taps use the client
  language.
* **Logging**: one line per question (``QUESTION``, or ``UNANSWERED`` when the article does
  not cover it, so ``grep UNANSWERED`` lists them; ``INLINE`` for inline queries, which are
  never counted as unanswered); the bot token never appears in a log.
* **Bot API failures**: :class:`ResilientRequest` retries getUpdates on any transient
  failure and a send only when the Bot API cannot have acted on it, so an answer goes out at
  most once; the error handler does not apologise for Bot API failures (the answer may have
  arrived). :func:`drop_repeated_update` handles an update id once, and :func:`poll_updates`
  confirms to Telegram only the updates it has handled.
* **Stopping**: SIGTERM/SIGINT stop the bot gracefully within ``SHUTDOWN_SECONDS`` -- no
  retries and short timeouts from then on, a watchdog as the backstop (:class:`Lifecycle`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import importlib.util
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, TypeAlias, TypeVar

import httpx
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot import texts
from bot.config import Settings
from bot.knowledge import Fact, KnowledgeError
from bot.language import LANGUAGES, choose_language
from bot.logsetup import RedactingFilter, configure_logging
from bot.matcher import Verdict
from bot.ratelimit import Decision, RateLimiter
from bot.reloading import KnowledgeHolder, ReloadFailure
from bot.replies import (
    Card,
    Engine,
    Reply,
    command_menu,
    escape_within,
    help_card,
    render_html,
    reply_to,
    reply_to_fact,
    source_card,
    start_card,
    suggestion_label,
    topics_card,
)

logger = logging.getLogger(__name__)

TelegramApp: TypeAlias = Application[Any, Any, Any, Any, Any, Any]
_T = TypeVar("_T")

TOKEN_ENV: Final = "TELEGRAM_BOT_TOKEN"
GROUP_ANONYMOUS_BOT_ID: Final = 1087968824
"""The user Telegram shows as the sender of an anonymous group admin's message."""
CALLBACK_PREFIX: Final = "fact:"
CALLBACK_HASH_PREFIX: Final = "fact#"
"""Used instead of ``fact:<id>`` when that would exceed Telegram's 64-byte callback data."""
MAX_CALLBACK_BYTES: Final = 64
MAX_BUTTON_LABEL: Final = 64
MAX_MESSAGE_CHARS: Final = 4096
REPLY_BUDGET: Final = 4000
"""A /reload summary or refusal is cut to this many UTF-16 units of HTML (Telegram: 4096)."""
MAX_KEYBOARD_BUTTONS: Final = 100
"""Telegram refuses an inline keyboard with more buttons than this."""
INLINE_CACHE_SECONDS: Final = 10
ALLOWED_UPDATES: Final = (
    Update.MESSAGE,
    Update.CHANNEL_POST,
    Update.CALLBACK_QUERY,
    Update.INLINE_QUERY,
)
"""The update types the bot asks Telegram for; edited messages are deliberately not among them."""
STATE_KEY: Final = "article_bot"


# --------------------------------------------------------------------------------------------
# Talking to the Bot API: what is retried, and stopping on time

SHUTDOWN_SECONDS: Final = 4.0
"""After SIGTERM or SIGINT the process is gone within this long, whatever the Bot API does."""
STOPPING_TIMEOUT: Final = 1.5
"""Once stopping, no Bot API call waits longer than this (connect, write, read, pool)."""
RETRY_FIRST_SECONDS: Final = 0.5
RETRY_MAX_SECONDS: Final = 10.0
SEND_RETRIES: Final = 4
"""Retries of a call other than getUpdates (0.5 + 1 + 2 + 4 s of waiting at most)."""
NEVER_RETRIED: Final = frozenset({"getMe", "logOut", "close"})
"""getMe is the start-up check: an unreachable Bot API must fail the start at once."""
POLL_SECONDS: Final = 10
"""The long-poll timeout of getUpdates."""
SEEN_UPDATES: Final = 10_000
"""How many recent update ids are remembered to drop an update delivered twice."""
_NOT_SENT: Final = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
)
"""Transport failures that happen before the request has reached the server in full."""


class Lifecycle:
    """Whether the bot is stopping; shared by the requests, the handlers and the signals."""

    def __init__(self) -> None:
        self.stopping = False
        self.cut_short = False
        """Set when stopping made a call give up that the Bot API had not acted on."""
        self._event: asyncio.Event | None = None
        self._watchdog: threading.Timer | None = None

    def stop(self) -> None:
        """Start stopping: no more retries, short timeouts, and exit within SHUTDOWN_SECONDS."""
        self.stopping = True
        if self._event is not None:
            self._event.set()

    def _stopped(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
            if self.stopping:
                self._event.set()
        return self._event

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if stopping starts meanwhile; True when stopping."""
        if not self.stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped().wait(), seconds)
        return self.stopping

    async def wait(self) -> None:
        """Return once stopping has started."""
        await self._stopped().wait()

    async def unless_stopped(self, awaitable: Awaitable[_T]) -> _T | None:
        """The result of ``awaitable``, or None when stopping starts first (it is cancelled)."""
        task = asyncio.ensure_future(awaitable)
        stopped = asyncio.ensure_future(self.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TelegramError):
            await task
        return None

    def start_watchdog(self, seconds: float = SHUTDOWN_SECONDS) -> None:
        """The backstop: if the graceful stop has not ended after ``seconds``, exit anyway."""
        self._watchdog = threading.Timer(seconds, _force_exit, args=(seconds,))
        self._watchdog.daemon = True
        self._watchdog.start()

    def cancel_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()


def _force_exit(seconds: float) -> None:
    logger.warning(
        "still stopping after %.1f s (the Bot API is not answering); exiting now", seconds
    )
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    os._exit(0)


def _endpoint(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def _no_response(error: NetworkError) -> bool:
    """True when the Bot API cannot have acted on the request: it never got it in full, or
    closed the connection without a word (a server that did the work answers)."""
    cause = error.__cause__
    if isinstance(cause, _NOT_SENT):
        return True
    return isinstance(cause, httpx.RemoteProtocolError) and "without sending a response" in str(
        cause
    )


def _json_object(payload: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _retry_after(payload: bytes) -> float | None:
    data = _json_object(payload) or {}
    parameters = data.get("parameters")
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    return float(value) if isinstance(value, int | float) and value >= 0 else None


class ResilientRequest(HTTPXRequest):
    """The bot's Bot API connection: retries what is safe to retry, and never holds up a stop.

    * ``getUpdates`` is idempotent (the same offset gets the same updates), so every transient
      failure -- no connection, a dropped connection, 5xx, 409, 429 (after its
      ``retry_after``), a body that is not JSON -- is retried with capped exponential
      backoff, *inside* the call, which :func:`poll_updates` cancels when the bot stops: no
      backoff delays a stop (PTB's own polling backoff, up to 30 s, could not be cut short).
    * Any other call is retried only when the Bot API cannot have acted on it: the request
      did not reach it in full, the connection closed without any response, or it answered
      5xx. A read timeout, a connection reset during the response or a 2xx body that is not
      JSON may follow a message Telegram did deliver, so those are never retried: an answer
      goes out at most once, never twice. 429 is left to PTB's ``AIORateLimiter``.
    * Once stopping, nothing is retried and no call waits longer than ``STOPPING_TIMEOUT``.
    """

    def __init__(self, lifecycle: Lifecycle, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lifecycle = lifecycle

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        endpoint = _endpoint(url)
        polling = endpoint == "getUpdates"
        attempt = 0
        while True:
            timeouts = {
                "read_timeout": read_timeout,
                "write_timeout": write_timeout,
                "connect_timeout": connect_timeout,
                "pool_timeout": pool_timeout,
            }
            if self.lifecycle.stopping:
                timeouts = dict.fromkeys(timeouts, STOPPING_TIMEOUT)
            failure: NetworkError | None = None
            wait: float | None = None
            try:
                code, payload = await super().do_request(url, method, request_data, **timeouts)
            except TimedOut as exc:
                # A long poll that ran out, or a call the server is slow to answer: PTB polls
                # again at once; a slow call may have been carried out, so no retry.
                if not isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout):
                    raise
                failure, reason = exc, f"{type(exc.__cause__).__name__}"
            except NetworkError as exc:
                if not (polling or _no_response(exc)):
                    raise
                failure, reason = exc, str(exc)
            else:
                if 500 <= code <= 599:
                    reason = f"HTTP {code}"
                elif polling and code == 409:
                    reason = "HTTP 409 Conflict"
                elif polling and code == 429:
                    wait = _retry_after(payload)
                    reason = "HTTP 429 Too Many Requests"
                elif polling and 200 <= code <= 299 and _json_object(payload) is None:
                    reason = "a response that is not JSON"
                else:
                    return code, payload
            gives_up = (
                self.lifecycle.stopping
                or endpoint in NEVER_RETRIED
                or (not polling and attempt >= SEND_RETRIES)
            )
            if gives_up:
                if self.lifecycle.stopping:
                    self.lifecycle.cut_short = True
                if failure is not None:
                    raise failure
                return code, payload
            if wait is None:
                wait = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2**attempt)
            attempt += 1
            logger.warning(
                "Bot API %s failed (%s); retry %d in %.1f s", endpoint, reason, attempt, wait
            )
            if polling:
                await asyncio.sleep(wait)  # poll_updates cancels the whole call at a stop
            elif await self.lifecycle.sleep(wait):
                self.lifecycle.cut_short = True
                if failure is not None:
                    raise failure
                return code, payload


class SeenUpdates:
    """The ids of the updates handled lately, to handle an update delivered twice only once.

    Telegram delivers an update again when it did not learn that the bot got it: a webhook
    answer that was lost, or a getUpdates offset that never reached it.
    """

    def __init__(self, size: int = SEEN_UPDATES) -> None:
        self._ids: set[int] = set()
        self._order: deque[int] = deque()
        self._size = size

    def first_time(self, update_id: int) -> bool:
        """Record ``update_id``; False when it was recorded before."""
        if update_id in self._ids:
            return False
        self._ids.add(update_id)
        self._order.append(update_id)
        if len(self._order) > self._size:
            self._ids.discard(self._order.popleft())
        return True


# --------------------------------------------------------------------------------------------
# State shared by the handlers


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


def _state(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    state = context.bot_data[STATE_KEY]
    if not isinstance(state, BotState):  # pragma: no cover - programming error
        raise TypeError("the application was not built with build_application()")
    return state


# --------------------------------------------------------------------------------------------
# Filters


class _SentDirectly(filters.UpdateFilter):
    """A new message a person sent as themselves: not forwarded, not on behalf of a chat."""

    __slots__ = ()

    def filter(self, update: Update) -> bool:
        message = update.message
        user = update.effective_user
        return (
            message is not None
            and user is not None
            and message.from_user is not None
            and message.from_user.id == user.id
            and user.id != GROUP_ANONYMOUS_BOT_ID
            and message.forward_origin is None
            and message.sender_chat is None
            and not message.is_automatic_forward
        )


SENT_DIRECTLY: Final = _SentDirectly(name="SENT_DIRECTLY")


def admin_filter(admins: frozenset[int]) -> filters.BaseFilter:
    """Admins' own new messages: user id listed, not forwarded, no ``sender_chat``."""
    return filters.UpdateType.MESSAGE & filters.User(user_id=admins) & SENT_DIRECTLY


@lru_cache(maxsize=8)
def _mention_pattern(username: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w@])@{re.escape(username)}(?!\w)", re.IGNORECASE)


def mentions(text: str, username: str | None) -> bool:
    """True when ``text`` contains ``@username`` (any case)."""
    return bool(username) and _mention_pattern(username or "").search(text) is not None


def strip_mention(text: str, username: str | None) -> str:
    """``text`` without ``@username`` and the punctuation left around it."""
    if not username:
        return text.strip()
    stripped = _mention_pattern(username).sub(" ", text)
    return " ".join(stripped.split()).strip(" ,:;-")


class _MentionsBot(filters.MessageFilter):
    """Text that mentions the bot by @username."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        return bool(message.text) and mentions(message.text or "", message.get_bot().username)


class _RepliesToBot(filters.MessageFilter):
    """A reply to one of the bot's own messages."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return (
            replied is not None
            and replied.from_user is not None
            and replied.from_user.id == message.get_bot().id
            and replied.forum_topic_created is None
        )


MENTIONS_BOT: Final = _MentionsBot(name="MENTIONS_BOT")
REPLIES_TO_BOT: Final = _RepliesToBot(name="REPLIES_TO_BOT")
NEW_MESSAGE: Final = filters.UpdateType.MESSAGE
NON_TEXT: Final = (
    filters.ANIMATION
    | filters.AUDIO
    | filters.CONTACT
    | filters.Dice.ALL
    | filters.Document.ALL
    | filters.GAME
    | filters.LOCATION
    | filters.PHOTO
    | filters.POLL
    | filters.Sticker.ALL
    | filters.STORY
    | filters.VENUE
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.VOICE
)
"""Messages that carry no question text."""


# --------------------------------------------------------------------------------------------
# Rendering helpers


def button_label(fact: Fact, language: str = "en") -> str:
    """A suggestion button's text: the fact's first phrasing, at most 64 characters."""
    label = " ".join(suggestion_label(fact, language).split())
    return label if len(label) <= MAX_BUTTON_LABEL else label[: MAX_BUTTON_LABEL - 1] + "…"


def _id_hash(fact_id: str) -> str:
    return hashlib.sha256(fact_id.encode()).hexdigest()[:24]


def callback_data(fact: Fact) -> str:
    """``fact:<id>``, or a hash of the id when that would not fit in 64 bytes."""
    data = CALLBACK_PREFIX + fact.id
    if len(data.encode()) <= MAX_CALLBACK_BYTES:
        return data
    return CALLBACK_HASH_PREFIX + _id_hash(fact.id)


def fact_for_callback(engine: Engine, data: str) -> Fact | None:
    """The fact a button's data names in ``engine``'s knowledge base, or None if gone."""
    if data.startswith(CALLBACK_PREFIX):
        return engine.kb.fact(data[len(CALLBACK_PREFIX) :])
    if data.startswith(CALLBACK_HASH_PREFIX):
        wanted = data[len(CALLBACK_HASH_PREFIX) :]
        return next((f for f in engine.kb.facts if _id_hash(f.id) == wanted), None)
    return None


def keyboard(facts: Sequence[Fact], language: str = "en") -> InlineKeyboardMarkup | None:
    """One button per suggested fact, one per row (at most 100); None when there is none."""
    if not facts:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button_label(f, language), callback_data=callback_data(f))]
            for f in facts[:MAX_KEYBOARD_BUTTONS]
        ]
    )


def _examples(engine: Engine) -> tuple[Fact, ...]:
    found = (engine.kb.fact(i) for i in engine.kb.examples)
    return tuple(f for f in found if f is not None)


def _in_group(message: Message) -> bool:
    return message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def _send(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Reply in HTML in ``message``'s chat (and topic); in groups the reply quotes the message."""
    await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        do_quote=_in_group(message),
    )


async def _send_card(message: Message, card: Card) -> None:
    await _send(message, card.html(), keyboard(card.suggestions, card.language))


def _language_hint(update: Update) -> str | None:
    """The user's Telegram client language (``language_code``), if known."""
    user = update.effective_user
    return user.language_code if user is not None else None


def _ui_language(update: Update) -> str:
    """The language for fixed texts and cards: the client's, else English."""
    return choose_language("", _language_hint(update))


def _chat_type(update: Update) -> str:
    chat = update.effective_chat
    return str(chat.type) if chat is not None else "inline"


def _user_id(update: Update) -> int | None:
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
        _user_id(update),
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


async def _flood_checked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Count one question; False (after at most one note per window) when over the limit."""
    user_id = _user_id(update)
    if user_id is None:
        return True
    decision = _state(context).limiter.check(user_id)
    if decision is Decision.ALLOW:
        return True
    message = update.effective_message
    logger.info("rate limited user=%s decision=%s", user_id, decision.value)
    if decision is Decision.NOTIFY and message is not None:
        note = texts.text("RATE_LIMITED", _ui_language(update))
        await _send(message, html.escape(note, quote=False))
    return False


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    message = update.message
    if message is None:
        return
    started = time.perf_counter()
    engine = _state(context).holder.engine  # read once: the whole reply uses this version
    if not question.strip():
        await _send_card(message, start_card(engine, _ui_language(update)))
        return
    reply = reply_to(engine, question, _language_hint(update))
    await _send(message, render_html(reply), keyboard(reply.suggestions, reply.language))
    log_question(update, reply, started)
    await record_unanswered(_state(context).settings, update, reply)


# --------------------------------------------------------------------------------------------
# Handlers


async def private_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message in a private chat."""
    message = update.message
    if message is None or message.text is None or not await _flood_checked(update, context):
        return
    await _answer(update, context, strip_mention(message.text, context.bot.username))


async def group_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a group message that mentions the bot or replies to it (mention removed)."""
    message = update.message
    if message is None or message.text is None or not await _flood_checked(update, context):
        return
    await _answer(update, context, strip_mention(message.text, context.bot.username))


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tell the sender that only text questions are answered."""
    message = update.message
    if message is None or not await _flood_checked(update, context):
        return
    note = texts.text("NON_TEXT", _ui_language(update))
    await _send(message, html.escape(note, quote=False))


async def suggestion_tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the button tap at once, then send the fact it names (or say it is gone)."""
    query = update.callback_query
    if query is None:
        return
    decision = _state(context).limiter.check(query.from_user.id)
    if decision is not Decision.ALLOW:
        logger.info("rate limited user=%s decision=%s", query.from_user.id, decision.value)
        note = texts.text("RATE_LIMITED", _ui_language(update))
        await query.answer(note if decision is Decision.NOTIFY else None)
        return
    await query.answer()
    started = time.perf_counter()
    engine = _state(context).holder.engine  # read once: the whole reply uses this version
    fact = fact_for_callback(engine, query.data or "")
    chat_message = query.message
    if chat_message is None:  # a button on an inline-mode message: nowhere to send to
        return
    language = _ui_language(update)
    if fact is None:
        text = html.escape(texts.text("FACT_GONE", language), quote=False)
        markup = keyboard(_examples(engine), language)
        logger.info("stale button user=%s data=%r", query.from_user.id, query.data)
    else:
        reply = reply_to_fact(engine, fact.id, language)
        if reply is None:  # pragma: no cover - fact_for_callback found it in this engine
            return
        text, markup = render_html(reply), keyboard(reply.suggestions, language)
        log_question(update, reply, started, via="button")
    if isinstance(chat_message, Message):
        await chat_message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup, do_quote=False
        )
    else:  # an old message the bot can no longer see: send to its chat all the same
        await context.bot.send_message(
            chat_message.chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )


async def stale_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button press this version of the bot does not know, so it stops spinning."""
    if update.callback_query is not None:
        await update.callback_query.answer()


def _article(engine: Engine, fact: Fact, language: str) -> InlineQueryResultArticle:
    reply = reply_to_fact(engine, fact.id, language)
    answer = fact.answer_in(language)
    text = render_html(reply) if reply is not None else html.escape(answer, quote=False)
    return InlineQueryResultArticle(
        id=fact.id if len(fact.id.encode()) <= MAX_CALLBACK_BYTES else _id_hash(fact.id),
        title=answer,
        description=" ".join(fact.quote.split()),
        input_message_content=InputTextMessageContent(text, parse_mode=ParseMode.HTML),
    )


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer answers to ``@bot question`` as articles; an empty query offers the examples."""
    query = update.inline_query
    if query is None:
        return
    started = time.perf_counter()
    engine = _state(context).holder.engine  # read once: the whole reply uses this version
    question = query.query.strip()
    facts: list[Fact] = []
    language = _ui_language(update)
    if not question:
        facts.extend(_examples(engine))
    else:
        reply = reply_to(engine, question, _language_hint(update))
        language = reply.language
        if reply.fact is not None:
            facts.append(reply.fact)
        facts.extend(f for f in reply.suggestions if f not in facts)
        log_question(update, reply, started, via="inline")
    results = [_article(engine, f, language) for f in facts]
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS, is_personal=False)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet: what the bot knows, with example questions as buttons."""
    if update.message is not None:
        engine = _state(context).holder.engine
        await _send_card(update.message, start_card(engine, _ui_language(update)))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """How to ask, and every command (admins also see /reload)."""
    if update.message is None:
        return
    state = _state(context)
    admin = bool(state.admin_filter.check_update(update))
    card = help_card(state.holder.engine, admin=admin, language=_ui_language(update))
    await _send_card(update.message, card)


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Everything the bot can answer, as buttons."""
    if update.message is not None:
        engine = _state(context).holder.engine
        await _send_card(update.message, topics_card(engine, _ui_language(update)))


async def source(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The article's title, outlet, author and date."""
    if update.message is not None:
        engine = _state(context).holder.engine
        await _send_card(update.message, source_card(engine, _ui_language(update)))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a command the bot does not have (private chats only) with the /help card."""
    await help_command(update, context)


async def reload_knowledge(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Re-read and validate the knowledge file (admins only); reply with what changed."""
    message = update.message
    if message is None:
        return
    outcome = await _state(context).holder.reload()
    logger.info(
        "/reload by admin user=%s: %s",
        _user_id(update),
        "refused" if isinstance(outcome, ReloadFailure) else "ok",
    )
    await _send(message, escape_within(outcome.text(), REPLY_BUDGET))


async def refuse_reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Refuse /reload politely to anyone but an admin writing as themselves; reload nothing."""
    message = update.effective_message
    if message is None:
        return
    origin = message.forward_origin
    logger.warning(
        "refused /reload: user=%s chat=%s chat_type=%s forwarded_from=%s sender_chat=%s",
        _user_id(update),
        message.chat.id,
        message.chat.type,
        getattr(origin, "type", None),
        message.sender_chat.id if message.sender_chat else None,
    )
    await message.reply_text(
        texts.text("NOT_ADMIN", _ui_language(update)),
        do_quote=message.chat.type != ChatType.PRIVATE,
    )


async def drop_repeated_update(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop an update that was handled already (same update id) before any handler sees it.

    Runs in handler group -1, ahead of every other handler, so a question delivered twice is
    answered once.
    """
    if isinstance(update, Update) and not _state(context).seen.first_time(update.update_id):
        logger.warning("update %s was delivered again; already handled, ignored", update.update_id)
        raise ApplicationHandlerStop


def _apologise_for(error: BaseException | None) -> bool:
    """Whether the user should hear that something went wrong.

    Yes for a fault of the bot's own code, or a message Telegram refused (BadRequest). No
    for the Bot API failing (timeouts, network errors, 5xx, flood control, a garbled
    response): the answer may well have been delivered, and an apology would be a second
    message for one question -- if it could be sent at all.
    """
    return not isinstance(error, TelegramError) or isinstance(error, BadRequest)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a handler's exception with its context and apologise if there is a chat; never raises.

    Bot API failures are one warning line; anything else is logged with its traceback.
    """
    try:
        update_id = chat_id = user_id = None
        if isinstance(update, Update):
            update_id = update.update_id
            user_id = _user_id(update)
            chat_id = update.effective_chat.id if update.effective_chat else None
        error = context.error
        apologise = _apologise_for(error)
        logger.log(
            logging.ERROR if apologise else logging.WARNING,
            "error while handling update=%s user=%s chat=%s: %s%s",
            update_id,
            user_id,
            chat_id,
            type(error).__name__,
            "" if apologise else f": {error}",
            exc_info=error if apologise else None,
        )
        if chat_id is not None and apologise:
            language = _ui_language(update) if isinstance(update, Update) else "en"
            await context.bot.send_message(chat_id, texts.text("ERROR", language))
    except Exception:
        with contextlib.suppress(Exception):  # logging itself broken: nothing left to do
            logger.exception("the error handler failed too")


# --------------------------------------------------------------------------------------------
# Application


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
        menu = public if language is None else [
            BotCommand(name, description) for name, description in command_menu(language)
        ]
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


def install_stop_signals(loop: asyncio.AbstractEventLoop, lifecycle: Lifecycle) -> None:
    """SIGTERM and SIGINT stop the bot gracefully, and in any case within SHUTDOWN_SECONDS:
    the bot is marked as stopping (no more retries, short timeouts) and a watchdog starts."""

    def stop(signum: signal.Signals) -> None:
        if lifecycle.stopping:
            logger.info("%s received again; already stopping", signum.name)
            return
        logger.info("%s received; stopping (at most %.0f s)", signum.name, SHUTDOWN_SECONDS)
        lifecycle.stop()
        lifecycle.start_watchdog()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)


async def poll_updates(
    application: TelegramApp, lifecycle: Lifecycle, allowed: Sequence[str]
) -> None:
    """Long-poll getUpdates and handle the updates one by one, until stopping.

    The offset sent to Telegram only ever confirms updates that were handled: when the bot
    stops in the middle of a batch (or is ended by the watchdog), the updates it did not
    get to stay with Telegram and come again at the next start -- none is lost. (PTB's
    ``run_polling`` confirms everything it fetched before its queue is worked off.)
    Transient getUpdates failures are retried inside :class:`ResilientRequest`.
    """
    bot = application.bot
    try:
        await bot.delete_webhook()  # getUpdates is refused while a webhook is set
    except TelegramError as exc:
        logger.warning("could not remove a webhook: %s", exc)
    offset: int | None = None
    failures = 0
    while not lifecycle.stopping:
        try:
            updates = await lifecycle.unless_stopped(
                bot.get_updates(offset=offset, timeout=POLL_SECONDS, allowed_updates=allowed)
            )
        except TimedOut:
            continue  # a long poll that ran out: ask again
        except InvalidToken:
            raise
        except Exception as exc:  # TelegramError, or updates PTB could not read
            failures += 1
            wait = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2**failures)
            logger.warning(
                "getUpdates failed: %s: %s; polling again in %.1f s",
                type(exc).__name__,
                exc,
                wait,
                exc_info=not isinstance(exc, TelegramError),
            )
            await lifecycle.sleep(wait)
            continue
        failures = 0
        for update in updates or ():
            if lifecycle.stopping:
                break
            lifecycle.cut_short = False
            try:
                await application.process_update(update)
            except Exception:  # handler errors go to on_error; this is anything else
                logger.exception("update %s could not be handled; skipped", update.update_id)
            if lifecycle.cut_short:
                break  # its answer was given up for the stop: it stays with Telegram
            offset = update.update_id + 1
    if offset is not None:
        try:  # confirm what was handled; limit=1 and timeout=0: nothing more is fetched
            await bot.get_updates(offset=offset, limit=1, timeout=0, allowed_updates=allowed)
        except TelegramError as exc:
            logger.warning(
                "could not confirm the handled updates to Telegram (%s); they may come "
                "again after a restart and be answered twice",
                exc,
            )


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
