"""Whether the bot is stopping (:class:`Lifecycle`), shared by the requests, the handlers
and the signals: waits that a stop cuts short, and the watchdog started at a stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable
from typing import TypeVar

from telegram.error import TelegramError

from bot.telegram.watchdog import SHUTDOWN_SECONDS, start_watchdog

_T = TypeVar("_T")


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
        self._watchdog = start_watchdog(seconds)

    def cancel_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
