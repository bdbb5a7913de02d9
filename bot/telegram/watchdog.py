"""The force-exit watchdog: once a stop has begun, the process is gone within
:data:`SHUTDOWN_SECONDS`, whatever the Bot API does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Final

logger = logging.getLogger(__name__)

SHUTDOWN_SECONDS: Final = 4.0
"""After SIGTERM or SIGINT the process is gone within this long, whatever the Bot API does."""


def start_watchdog(seconds: float) -> threading.Timer:
    """A daemon timer that exits the process after ``seconds`` unless cancelled."""
    watchdog = threading.Timer(seconds, _force_exit, args=(seconds,))
    watchdog.daemon = True
    watchdog.start()
    return watchdog


def _force_exit(seconds: float) -> None:
    logger.warning(
        "still stopping after %.1f s (the Bot API is not answering); exiting now", seconds
    )
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    os._exit(0)
