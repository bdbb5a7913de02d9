"""SIGTERM and SIGINT: a graceful stop, within :data:`~bot.telegram.watchdog.SHUTDOWN_SECONDS`."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.telegram.lifecycle import Lifecycle
from bot.telegram.watchdog import SHUTDOWN_SECONDS

logger = logging.getLogger(__name__)


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
