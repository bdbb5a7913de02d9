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
from pathlib import Path
from typing import Any, Final, TypeAlias, TypeVar

import httpx
from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import Application
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.telegram.delivery import Delivery

logger = logging.getLogger(__name__)

_AnyApplication: TypeAlias = Application[Any, Any, Any, Any, Any, Any]
"""Any application (the bot's own type, TelegramApp, lives in .state, which imports this)."""
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
POLL_SECONDS: Final = 10
"""The long-poll timeout of getUpdates."""
SEEN_UPDATES: Final = 10_000
"""How many recent update ids are remembered to drop an update delivered twice."""


class Lifecycle:
    """Whether the bot is stopping; shared by the requests, the handlers and the signals."""

    def __init__(self) -> None:
        self.stopping = False
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


def _skip_malformed(payload: bytes) -> bytes:
    """getUpdates' answer with every update PTB cannot read replaced by a bare ``update_id``.

    PTB reads a batch as a whole: one update it cannot read (a message without ``chat`` or
    ``date``) fails the call, the offset never moves and polling is stuck on it for good.
    The bare update is handled as nothing, so the offset moves past it.
    """
    data = _json_object(payload)
    results = data.get("result") if data is not None else None
    if not isinstance(results, list):
        return payload
    cleaned: list[Any] = []
    changed = False
    for item in results:
        try:
            Update.de_json(item, None)
        except Exception as exc:
            changed = True
            update_id = item.get("update_id") if isinstance(item, dict) else None
            logger.error("malformed update %s skipped (%s: %s)", update_id, type(exc).__name__, exc)
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                cleaned.append({"update_id": update_id})
        else:
            cleaned.append(item)
    if not changed:
        return payload
    return json.dumps({**(data or {}), "result": cleaned}).encode()


class ResilientRequest(HTTPXRequest):
    """The bot's Bot API connection: retries what is safe to retry, and never holds up a stop.

    * ``getUpdates`` is idempotent (the same offset gets the same updates), so every transient
      failure -- no connection, a dropped connection, 5xx, 409, 429 (after its
      ``retry_after``), a body that is not JSON -- is retried with capped exponential
      backoff, *inside* the call, which :func:`poll_updates` cancels when the bot stops: no
      backoff delays a stop (PTB's own polling backoff, up to 30 s, could not be cut short).
    * Any other call is not retried here: replies are retried by the outbox
      (:class:`~bot.telegram.delivery.Delivery`, per chat, until delivered or expired) and
      the command menus by their background task -- one retry layer each.
    * An update in getUpdates' answer that PTB cannot read is logged with its id and
      replaced by a bare ``update_id`` (:func:`_skip_malformed`), so the offset moves on.
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
        timeouts = {
            "read_timeout": read_timeout,
            "write_timeout": write_timeout,
            "connect_timeout": connect_timeout,
            "pool_timeout": pool_timeout,
        }
        endpoint = _endpoint(url)
        if endpoint != "getUpdates":
            if self.lifecycle.stopping:
                timeouts = dict.fromkeys(timeouts, STOPPING_TIMEOUT)
            return await super().do_request(url, method, request_data, **timeouts)
        attempt = 0
        while True:
            if self.lifecycle.stopping:
                timeouts = dict.fromkeys(timeouts, STOPPING_TIMEOUT)
            failure: NetworkError | None = None
            wait: float | None = None
            try:
                code, payload = await super().do_request(url, method, request_data, **timeouts)
            except TimedOut as exc:
                # A long poll that ran out: PTB polls again at once.
                if not isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout):
                    raise
                failure, reason = exc, f"{type(exc.__cause__).__name__}"
            except NetworkError as exc:
                failure, reason = exc, str(exc)
            else:
                if 500 <= code <= 599:
                    reason = f"HTTP {code}"
                elif code == 409:
                    reason = "HTTP 409 Conflict"
                elif code == 429:
                    wait = _retry_after(payload)
                    reason = "HTTP 429 Too Many Requests"
                elif 200 <= code <= 299 and _json_object(payload) is None:
                    reason = "a response that is not JSON"
                elif 200 <= code <= 299:
                    return code, _skip_malformed(payload)
                else:
                    return code, payload
            if self.lifecycle.stopping:
                if failure is not None:
                    raise failure
                return code, payload
            if wait is None:
                wait = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2**attempt)
            attempt += 1
            logger.warning(
                "Bot API %s failed (%s); retry %d in %.1f s", endpoint, reason, attempt, wait
            )
            await asyncio.sleep(wait)  # poll_updates cancels the whole call at a stop


HEARTBEAT_SECONDS: Final = 10.0
"""In webhook mode the heartbeat file is touched this often; in polling mode at every poll
(a long poll lasts at most POLL_SECONDS, a failed one waits at most RETRY_MAX_SECONDS)."""


class Heartbeat:
    """A file whose modification time says the bot is still polling or serving, read by
    ``deploy/healthcheck.py``: a process can be alive and its event loop stuck."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._warned = False

    def beat(self) -> None:
        """Touch the file (a syscall of microseconds, fine on the event loop)."""
        if self.path is None:
            return
        try:
            self.path.touch()
        except OSError as exc:
            if not self._warned:  # once: the health check will say the rest
                logger.warning("cannot touch the heartbeat file %s: %s", self.path, exc)
                self._warned = True

    async def keep_beating(self, lifecycle: Lifecycle) -> None:
        """Beat every :data:`HEARTBEAT_SECONDS` until stopping (webhook mode)."""
        while not lifecycle.stopping:
            self.beat()
            if await lifecycle.sleep(HEARTBEAT_SECONDS):
                return


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


BUSY_POLL_SECONDS: Final = 0.02
"""While fetched updates are still being handled, how often to look for new ones."""
STOP_WAIT_SECONDS: Final = 1.0
"""At a stop, how long the updates in hand may take to be handled before the last confirm."""


def _confirmable(tasks: dict[int, asyncio.Task[None]], offset: int | None) -> int | None:
    """The offset that confirms every fetched update handled so far, oldest first.

    ``tasks`` is in update-id order (the order Telegram sent them); the front ones that are
    done are forgotten. An update that is still being handled holds back the offset of every
    later one: Telegram forgets *every* update below the offset.
    """
    while tasks:
        update_id, task = next(iter(tasks.items()))
        if not task.done():
            break
        del tasks[update_id]
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "update %s could not be stored; skipped", update_id, exc_info=task.exception()
            )
        offset = update_id + 1
    return offset


async def poll_updates(
    application: _AnyApplication,
    delivery: Delivery,
    lifecycle: Lifecycle,
    allowed: Sequence[str],
    heartbeat: Heartbeat | None = None,
) -> None:
    """Long-poll getUpdates and hand every update to :meth:`Delivery.submit`, until stopping.

    Updates are handled concurrently (ordered within each chat, by the update processor);
    the offset sent to Telegram confirms only updates whose replies are in the outbox, so
    an update in hand at a crash or stop comes again at the next start (and its stored
    replies are not stored twice). Transient getUpdates failures are retried inside
    :class:`ResilientRequest`.
    """
    bot = application.bot
    try:
        await bot.delete_webhook()  # getUpdates is refused while a webhook is set
    except TelegramError as exc:
        logger.warning("could not remove a webhook: %s", exc)
    tasks: dict[int, asyncio.Task[None]] = {}
    progress = asyncio.Event()
    offset: int | None = None
    failures = 0
    while not lifecycle.stopping:
        if heartbeat is not None:
            heartbeat.beat()
        if tasks:  # some are being handled: wait a little for them, then look for new ones
            progress.clear()
            with contextlib.suppress(TimeoutError):
                await lifecycle.unless_stopped(asyncio.wait_for(progress.wait(), BUSY_POLL_SECONDS))
        offset = _confirmable(tasks, offset)
        try:
            updates = await lifecycle.unless_stopped(
                bot.get_updates(
                    offset=offset,
                    timeout=0 if tasks else POLL_SECONDS,
                    allowed_updates=allowed,
                )
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
            update_id = update.update_id
            if update_id in tasks or (offset is not None and update_id < offset):
                continue  # in hand already (it comes again until confirmed)
            task = asyncio.create_task(delivery.submit(update), name=f"update:{update_id}")
            task.add_done_callback(lambda _: progress.set())
            tasks[update_id] = task
    if tasks:  # let the updates in hand be stored, briefly; the rest come again next time
        await asyncio.wait(list(tasks.values()), timeout=STOP_WAIT_SECONDS)
    confirmed = _confirmable(tasks, offset)
    if tasks:
        logger.info(
            "%d update(s) not handled before the stop; Telegram sends them again", len(tasks)
        )
    if confirmed is not None:
        try:  # confirm what was handled; limit=1 and timeout=0: nothing more is fetched
            await bot.get_updates(offset=confirmed, limit=1, timeout=0, allowed_updates=allowed)
        except TelegramError as exc:
            logger.warning(
                "could not confirm the handled updates to Telegram (%s); they may come "
                "again after a restart (their replies are not stored or sent twice)",
                exc,
            )
