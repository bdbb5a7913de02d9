"""Talking to the Bot API: what is retried, stopping on time, and long polling.

:class:`Lifecycle` (stopping, and the force-exit watchdog), :class:`ResilientRequest` (the
retry policy), :class:`SeenUpdates`, :func:`install_stop_signals` and :func:`poll_updates`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Awaitable, Sequence
from typing import Any, Final, TypeAlias, TypeVar

import httpx
from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import Application
from telegram.request import BaseRequest, HTTPXRequest, RequestData

logger = logging.getLogger(__name__)

TelegramApp: TypeAlias = Application[Any, Any, Any, Any, Any, Any]
_T = TypeVar("_T")

ALLOWED_UPDATES: Final = (
    Update.MESSAGE,
    Update.CHANNEL_POST,
    Update.CALLBACK_QUERY,
    Update.INLINE_QUERY,
)
"""The update types the bot asks Telegram for; edited messages are deliberately not among them."""


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
