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
        if self.has_room(key, now):
            self.record(key, now)
            return Decision.ALLOW
        return self.refuse(key, now)

    def now(self) -> float:
        return self._clock()

    def _window(self, key: Hashable, now: float) -> _UserWindow:
        window = self._users.get(key)
        if window is None:
            if len(self._users) >= self._max_users:
                self._prune(now)
            window = self._users[key] = _UserWindow()
        horizon = now - self.per_seconds
        while window.accepted and window.accepted[0] <= horizon:
            window.accepted.popleft()
        return window

    def has_room(self, key: Hashable, now: float) -> bool:
        """Whether ``key`` may ask one more now (nothing is recorded)."""
        return len(self._window(key, now).accepted) < self.limit

    def record(self, key: Hashable, now: float) -> None:
        """Count one accepted question for ``key``."""
        self._window(key, now).accepted.append(now)

    def refuse(self, key: Hashable, now: float) -> Decision:
        """``key`` is over its limit: NOTIFY once per window, SILENT after that."""
        window = self._window(key, now)
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


class FloodControl:
    """Flood control per user *and* per group chat: an update is answered only when both
    have room, so one chatty group cannot use up the bot, and one user cannot either.

    The refusal is NOTIFY once per window of whichever limit is full (the user's or the
    group's), SILENT otherwise: one note per window, then silence.
    """

    def __init__(self, per_user: RateLimiter, per_chat: RateLimiter) -> None:
        self.per_user = per_user
        self.per_chat = per_chat

    def check(self, user_id: int | None, group_id: int | None = None) -> Decision:
        """Count one update from ``user_id`` (in group ``group_id``, if any)."""
        now = self.per_user.now()
        user_ok = user_id is None or self.per_user.has_room(user_id, now)
        chat_ok = group_id is None or self.per_chat.has_room(group_id, now)
        if user_ok and chat_ok:
            if user_id is not None:
                self.per_user.record(user_id, now)
            if group_id is not None:
                self.per_chat.record(group_id, now)
            return Decision.ALLOW
        if not chat_ok:
            assert group_id is not None
            return self.per_chat.refuse(group_id, now)
        assert user_id is not None
        return self.per_user.refuse(user_id, now)
