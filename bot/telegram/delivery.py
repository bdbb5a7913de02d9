"""The one delivery path of both modes: updates in, per-chat order, replies out via the outbox.

* :class:`PerChatUpdateProcessor` -- PTB's ``concurrent_updates`` with one rule: updates of
  the same chat are handled one after the other, in order; different chats never wait for
  each other (a private question does not wait behind a group's flood or an admin's reload).
* :class:`Delivery` -- polling and the webhook hand every update to :meth:`Delivery.submit`,
  which returns once the update is handled, i.e. once its replies are committed to the
  :class:`~bot.outbox.Outbox`; only then is the update confirmed to Telegram. Handlers
  never call sendMessage themselves: :meth:`Delivery.reply` stores the reply and wakes that
  chat's sender, which sends the chat's replies in order, retrying with backoff, until each
  is delivered or expires. A 429 (``RetryAfter``) pauses only that chat.
* :class:`OutboxRateLimiter` -- PTB's ``AIORateLimiter`` (Telegram's overall and per-group
  sending limits; a group waits only for its own group limit) that also marks an outbox row
  ``sending`` at the moment its HTTP request starts, so a reply that was still waiting for
  the limiter when the bot stopped is known not to have gone out.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any, Final

import httpx
from telegram import Bot, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, Application, BaseUpdateProcessor

from bot import texts
from bot.outbox import Outbox, Row

logger = logging.getLogger(__name__)

MAX_CONCURRENT_UPDATES: Final = 4096
"""PTB's semaphore; far above what is ever in flight, so only the per-chat rule holds updates."""
SEND_FIRST_RETRY: Final = 0.5
SEND_MAX_RETRY: Final = 60.0
"""Backoff of a reply whose send certainly failed (0.5, 1, 2 ... 60 s) until it expires."""
APOLOGY: Final = texts.ENGLISH.error
"""Sent instead of a reply Telegram refused (bad text or markup)."""
STOP_FLUSH_SECONDS: Final = 1.5
"""At a stop, how long a send in hand may take to finish; what is left stays in the outbox."""

PRUNE_EVERY: Final = 10_000
"""Finished rows older than the expiry are deleted at each start and every this many updates."""

SENDING: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "outbox_sending", default=None
)
"""Set by a chat's sender around one send: called when that send's HTTP request starts."""

_NOT_SENT: Final = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
)
"""Transport failures before the request reached the server in full: nothing was done."""


class _NoRetryTraceback(logging.Filter):
    """AIORateLimiter logs a traceback for every 429 once its retries are used up; with none,
    that is every 429, which the outbox handles (one warning line per retry)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Rate limit hit after maximum")


logging.getLogger("telegram.ext.AIORateLimiter").addFilter(_NoRetryTraceback())


class OutboxRateLimiter(AIORateLimiter):
    """``AIORateLimiter`` without its own retries (the outbox retries, per chat), telling the
    outbox when a request leaves the limiter for the network.

    ``max_retries=0`` matters: AIORateLimiter's retry pauses *every* chat during one chat's
    flood wait; here a ``RetryAfter`` reaches the chat's sender, which pauses that chat only.
    """

    def __init__(self) -> None:
        super().__init__(max_retries=0)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        started = SENDING.get()

        async def send(*a: Any, **k: Any) -> bool | dict[str, Any] | list[dict[str, Any]]:
            if started is not None:
                started()  # past the limiter: the request is going out now
            return await callback(*a, **k)

        return await super().process_request(send, args, kwargs, endpoint, data, rate_limit_args)


def chat_key(update: object) -> Hashable | None:
    """What serialises an update: its chat, else its user (inline queries); None: nothing."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, ordered within a chat.

    PTB starts one task per update, in arrival order; each takes its chat's lock (asyncio
    locks are first come, first served) before its handlers run. ``on_done`` is told about
    every update once its handlers have finished, whatever happened in them.
    """

    def __init__(
        self,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
        on_done: Callable[[object], None] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.on_done = on_done
        self._locks: dict[Hashable, tuple[asyncio.Lock, list[int]]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        try:
            if key is None:
                await coroutine
                return
            lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
            users[0] += 1
            try:
                async with lock:
                    await coroutine
            finally:
                users[0] -= 1
                if users[0] == 0:  # nobody else of this chat waiting: forget the lock
                    del self._locks[key]
        finally:
            if isinstance(coroutine, Coroutine):
                coroutine.close()  # never awaited (cancelled while waiting): no warning
            if self.on_done is not None:
                self.on_done(update)

    def chats_waiting(self) -> int:
        """How many chats have an update being handled or waiting (for tests)."""
        return len(self._locks)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def _certainly_not_sent(error: NetworkError) -> bool:
    """True when the Bot API cannot have acted: an HTTP error status (5xx...), a request that
    never got through in full, or a connection closed without any response."""
    cause = error.__cause__
    if cause is None:
        return not isinstance(error, TimedOut)  # PTB raised it for an HTTP error status
    if isinstance(cause, _NOT_SENT):
        return True
    return isinstance(cause, httpx.RemoteProtocolError) and "without sending a response" in str(
        cause
    )


def send_kwargs(bot: Bot, params: dict[str, Any]) -> dict[str, Any]:
    """``bot.send_message`` arguments from a stored reply (JSON-safe ``params``)."""
    kwargs = dict(params)
    if isinstance(kwargs.get("reply_markup"), dict):
        kwargs["reply_markup"] = InlineKeyboardMarkup.de_json(kwargs["reply_markup"], bot)
    if isinstance(kwargs.get("reply_parameters"), dict):
        kwargs["reply_parameters"] = ReplyParameters(**kwargs["reply_parameters"])
    return kwargs


class Delivery:
    """Takes updates in and gets their replies out, for polling and webhook alike."""

    def __init__(
        self,
        outbox: Outbox,
        stopping: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.outbox = outbox
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._stopping = stopping
        self._sleep = sleep  # tests give a fake: backoffs and flood waits take no time
        self._queues: dict[int, deque[Row]] = {}
        self._senders: dict[int, asyncio.Task[None]] = {}
        self._seqs: dict[int | None, int] = {}
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._handled = 0
        self.paused = False
        """While True no sender starts (tests: replies pile up in the outbox)."""

    # -- updates in ----------------------------------------------------------------------------

    def attach(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """The application whose update queue and bot to use."""
        self.application = application

    async def submit(self, update: Update) -> None:
        """Hand ``update`` to the application; return once it is handled (replies stored).

        An update handled before (by this run or an earlier one) is not handled again.
        """
        if self.outbox.handled(update.update_id):
            logger.warning("update %s was delivered again; already handled", update.update_id)
            return
        future = self._waiting.get(update.update_id)
        if future is None:
            assert self.application is not None, "attach() first"
            future = self._waiting[update.update_id] = asyncio.get_running_loop().create_future()
            await self.application.update_queue.put(update)
        await asyncio.shield(future)

    def finished(self, update: object) -> None:
        """The processor's ``on_done``: the update is handled, its replies are in the outbox."""
        if not isinstance(update, Update):
            return
        self.outbox.mark_handled(update.update_id)
        self._handled += 1
        if self._handled % PRUNE_EVERY == 0:  # a bot that runs for months stays small
            self.outbox.prune()
        self._seqs.pop(update.update_id, None)
        future = self._waiting.pop(update.update_id, None)
        if future is not None and not future.done():
            future.set_result(None)

    # -- replies out ---------------------------------------------------------------------------

    def reply(self, update_id: int | None, chat_id: int, params: dict[str, Any]) -> None:
        """Store one reply to ``chat_id`` (sendMessage ``params``) and wake that chat's sender."""
        seq = self._seqs.get(update_id, 0)
        self._seqs[update_id] = seq + 1
        row = self.outbox.add(update_id, seq, chat_id, {"chat_id": chat_id, **params})
        if row is None:
            logger.info("reply %s/%s is in the outbox already; not stored twice", update_id, seq)
            return
        self._enqueue(row)

    def resume(self) -> int:
        """Queue what earlier runs left in the outbox (sent before anything new); how many."""
        rows = self.outbox.recover()
        for row in rows:
            self._enqueue(row)
        self.outbox.prune()
        return len(rows)

    def _enqueue(self, row: Row) -> None:
        self._queues.setdefault(row.chat_id, deque()).append(row)
        self._idle.clear()
        self._wake(row.chat_id)

    def _wake(self, chat_id: int) -> None:
        if self.paused or chat_id in self._senders or self.application is None:
            return
        self._senders[chat_id] = asyncio.create_task(
            self._send_chat(chat_id), name=f"outbox-sender:{chat_id}"
        )

    def unpause(self) -> None:
        self.paused = False
        for chat_id in list(self._queues):
            self._wake(chat_id)

    async def drain(self) -> None:
        """Wait until every reply stored so far has been dealt with (sent, dropped...)."""
        await self._idle.wait()

    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def stop(self, grace: float = STOP_FLUSH_SECONDS) -> None:
        """Stop the senders: once the bot is stopping each finishes the send in hand (for
        ``grace`` seconds at most) and takes no new one; then they are cancelled. What is
        left stays in the outbox for the next start."""
        senders = list(self._senders.values())
        if senders:
            await asyncio.wait(senders, timeout=grace)
        for task in senders:
            task.cancel()
        if senders:
            await asyncio.wait(senders, timeout=1.0)
        left = self.pending()
        if left:
            logger.info("%d repl(ies) left in the outbox; sent at the next start", left)

    async def _send_chat(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        try:
            while queue and not self._stopping():
                row = queue[0]
                try:
                    done = await self._deliver(row)
                except InvalidToken:
                    raise
                except Exception:  # a bug, not the Bot API: keep the row, try again later
                    logger.exception("sending the reply to update %s failed", row.update_id)
                    self.outbox.retry_later(row)
                    await self._sleep(min(SEND_MAX_RETRY, SEND_FIRST_RETRY * 2**row.attempts))
                    continue
                if not done:
                    break  # stopping: the row stays in the outbox for the next start
                queue.popleft()
        finally:
            self._senders.pop(chat_id, None)
            if not queue:
                self._queues.pop(chat_id, None)
            if not self._queues or self._stopping():
                self._idle.set()

    async def _deliver(self, row: Row) -> bool:
        """Send ``row`` until it is delivered, refused, uncertain or expired: True; False
        when the bot stops first (the row stays in the outbox)."""
        assert self.application is not None
        bot = self.application.bot
        while True:
            if self.outbox.expired(row):
                logger.error(
                    "dropped the reply to update %s (chat %s): not delivered within %.0f h",
                    row.update_id,
                    row.chat_id,
                    self.outbox.expiry_seconds / 3600,
                )
                self.outbox.mark_dropped(row)
                return True
            wait: float | None = None
            token = SENDING.set(lambda: self.outbox.mark_sending(row))
            try:
                await bot.send_message(**{**send_kwargs(bot, row.params), "chat_id": row.chat_id})
            except RetryAfter as exc:
                wait = exc._retry_after.total_seconds()  # this chat only
                reason = f"flood control, retry after {wait:.0f} s"
            except ChatMigrated as exc:
                logger.info("chat %s is now %s; sending there", row.chat_id, exc.new_chat_id)
                row.chat_id = int(exc.new_chat_id)
                row.params = {**row.params, "chat_id": row.chat_id}
                self.outbox.update_params(row)
                reason = "chat migrated"
                wait = 0.0
            except BadRequest as exc:
                if row.params.get("text") == APOLOGY:
                    logger.error("Telegram refused the apology too (chat %s): %s", row.chat_id, exc)
                    self.outbox.mark_dropped(row)
                    return True
                # Telegram refused this message (its text or markup): the user hears that
                # something went wrong instead of nothing.
                logger.error(
                    "Telegram refused the reply to update %s (chat %s): %s; sending an apology",
                    row.update_id,
                    row.chat_id,
                    exc,
                )
                row.params = {"chat_id": row.chat_id, "text": APOLOGY, "parse_mode": None}
                self.outbox.update_params(row)
                reason = "message refused"
                wait = 0.0
            except Forbidden as exc:
                # Blocked, kicked, or not allowed to write here: a retry is refused the same.
                logger.error(
                    "Telegram refused the reply to update %s (chat %s); dropped: %s",
                    row.update_id,
                    row.chat_id,
                    exc,
                )
                self.outbox.mark_dropped(row)
                return True
            except InvalidToken:
                raise
            except NetworkError as exc:
                if not _certainly_not_sent(exc):
                    self._uncertain(row, exc)
                    return True
                reason = str(exc) or type(exc).__name__
            except TelegramError as exc:  # e.g. a garbled 2xx body: it may have been sent
                self._uncertain(row, exc)
                return True
            else:
                self.outbox.mark_sent(row)
                return True
            finally:
                SENDING.reset(token)
            self.outbox.retry_later(row)
            if wait is None:
                wait = min(SEND_MAX_RETRY, SEND_FIRST_RETRY * 2 ** (row.attempts - 1))
            logger.warning(
                "sending the reply to update %s (chat %s) failed (%s); retry %d in %.1f s",
                row.update_id,
                row.chat_id,
                reason,
                row.attempts,
                wait,
            )
            if self._stopping():
                return False
            await self._sleep(wait)
            if self._stopping():
                return False

    def _uncertain(self, row: Row, error: TelegramError) -> None:
        logger.warning(
            "the reply to update %s (chat %s) may or may not have been delivered (%s: %s); "
            "not sent again, so it is never duplicated",
            row.update_id,
            row.chat_id,
            type(error).__name__,
            error,
        )
        self.outbox.mark_uncertain(row)
