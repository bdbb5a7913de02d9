"""Filters: admins writing as themselves, mentions of the bot, replies to it, non-text."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from telegram import Message, Update
from telegram.ext import filters

GROUP_ANONYMOUS_BOT_ID: Final = 1087968824
"""The user Telegram shows as the sender of an anonymous group admin's message."""


class _SentDirectly(filters.UpdateFilter):
    """A new message a person sent as themselves: not forwarded, not on behalf of a chat."""

    __slots__ = ()

    def filter(self, update: Update) -> bool:
        message = update.message
        user = update.effective_user
        return (
            message is not None
            and user is not None
            and message.from_user is not None
            and message.from_user.id == user.id
            and user.id != GROUP_ANONYMOUS_BOT_ID
            and message.forward_origin is None
            and message.sender_chat is None
            and not message.is_automatic_forward
        )


SENT_DIRECTLY: Final = _SentDirectly(name="SENT_DIRECTLY")


def admin_filter(admins: frozenset[int]) -> filters.BaseFilter:
    """Admins' own new messages: user id listed, not forwarded, no ``sender_chat``."""
    return filters.UpdateType.MESSAGE & filters.User(user_id=admins) & SENT_DIRECTLY


@lru_cache(maxsize=8)
def _mention_pattern(username: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w@])@{re.escape(username)}(?!\w)", re.IGNORECASE)


def mentions(text: str, username: str | None) -> bool:
    """True when ``text`` contains ``@username`` (any case)."""
    return bool(username) and _mention_pattern(username or "").search(text) is not None


def strip_mention(text: str, username: str | None) -> str:
    """``text`` without ``@username`` and the punctuation left around it."""
    if not username:
        return text.strip()
    stripped = _mention_pattern(username).sub(" ", text)
    return " ".join(stripped.split()).strip(" ,:;-")


class _MentionsBot(filters.MessageFilter):
    """Text that mentions the bot by @username."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        return bool(message.text) and mentions(message.text or "", message.get_bot().username)


class _RepliesToBot(filters.MessageFilter):
    """A reply to one of the bot's own messages."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return (
            replied is not None
            and replied.from_user is not None
            and replied.from_user.id == message.get_bot().id
            and replied.forum_topic_created is None
        )


MENTIONS_BOT: Final = _MentionsBot(name="MENTIONS_BOT")
REPLIES_TO_BOT: Final = _RepliesToBot(name="REPLIES_TO_BOT")
NEW_MESSAGE: Final = filters.UpdateType.MESSAGE
NON_TEXT: Final = (
    filters.ANIMATION
    | filters.AUDIO
    | filters.CONTACT
    | filters.Dice.ALL
    | filters.Document.ALL
    | filters.GAME
    | filters.LOCATION
    | filters.PHOTO
    | filters.POLL
    | filters.Sticker.ALL
    | filters.STORY
    | filters.VENUE
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.VOICE
)
"""Messages that carry no question text."""
