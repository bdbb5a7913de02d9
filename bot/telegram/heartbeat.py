"""The heartbeat file whose age says the bot is still polling or serving."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from bot.telegram.lifecycle import Lifecycle

logger = logging.getLogger(__name__)

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
