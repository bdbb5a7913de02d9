"""Which updates the bot takes: the kinds it asks Telegram for, and each one only once."""

from __future__ import annotations

from collections import deque
from typing import Final

from telegram import Update

ALLOWED_UPDATES: Final = (
    Update.MESSAGE,
    Update.CHANNEL_POST,
    Update.CALLBACK_QUERY,
    Update.INLINE_QUERY,
)
"""The update types the bot asks Telegram for; edited messages are deliberately not among them."""
SEEN_UPDATES: Final = 10_000
"""How many recent update ids are remembered to drop an update delivered twice."""


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
