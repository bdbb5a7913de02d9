"""Per-user flood control: a sliding window of accepted questions (no Telegram import here).

A user may ask ``limit`` questions in any ``per_seconds`` window. The first question over the
limit gets :attr:`Decision.NOTIFY` (the bot sends one short note); further ones in the same
window get :attr:`Decision.SILENT`. Once the oldest question leaves the window a slot frees.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from enum import Enum


class Decision(Enum):
    """What to do with one incoming question."""

    ALLOW = "allow"
    NOTIFY = "notify"
    SILENT = "silent"


@dataclass(slots=True)
class _UserWindow:
    accepted: deque[float] = field(default_factory=deque)
    notified_until: float = float("-inf")


class RateLimiter:
    """Sliding-window limiter keyed by user id; memory is bounded by pruning idle users."""

    def __init__(
        self,
        limit: int,
        per_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_users: int = 10_000,
    ) -> None:
        if limit < 1 or per_seconds <= 0:
            raise ValueError("limit and per_seconds must be positive")
        self.limit = limit
        self.per_seconds = per_seconds
        self._clock = clock
        self._max_users = max_users
        self._users: dict[Hashable, _UserWindow] = {}

    def __len__(self) -> int:
        return len(self._users)

    def check(self, key: Hashable) -> Decision:
        """Record one question from ``key`` and decide whether to answer it."""
        now = self._clock()
        window = self._users.get(key)
        if window is None:
            if len(self._users) >= self._max_users:
                self._prune(now)
            window = self._users[key] = _UserWindow()
        horizon = now - self.per_seconds
        while window.accepted and window.accepted[0] <= horizon:
            window.accepted.popleft()
        if len(window.accepted) < self.limit:
            window.accepted.append(now)
            return Decision.ALLOW
        if now >= window.notified_until:
            # One note per window: stay silent until the oldest question leaves the window.
            window.notified_until = window.accepted[0] + self.per_seconds
            return Decision.NOTIFY
        return Decision.SILENT

    def _prune(self, now: float) -> None:
        horizon = now - self.per_seconds
        idle = [
            key
            for key, w in self._users.items()
            if (not w.accepted or w.accepted[-1] <= horizon) and w.notified_until <= now
        ]
        for key in idle:
            del self._users[key]
