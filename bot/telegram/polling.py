"""Long polling: getUpdates, each update handed to the delivery, and the offset confirmed
only for updates whose replies are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Final, TypeAlias

from telegram.error import InvalidToken, TelegramError, TimedOut
from telegram.ext import Application

from bot.telegram import retries
from bot.telegram.delivery import Delivery
from bot.telegram.heartbeat import Heartbeat
from bot.telegram.lifecycle import Lifecycle

logger = logging.getLogger(__name__)

_AnyApplication: TypeAlias = Application[Any, Any, Any, Any, Any, Any]
"""Any application (the bot's own type is TelegramApp, in .state; polling needs no more)."""
POLL_SECONDS: Final = 10
"""The long-poll timeout of getUpdates."""
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
            wait = min(retries.RETRY_MAX_SECONDS, retries.RETRY_FIRST_SECONDS * 2**failures)
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
