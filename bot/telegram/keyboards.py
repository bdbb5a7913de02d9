"""Suggestion buttons: their labels, their callback data and the inline keyboards."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit, InlineKeyboardMarkupLimit

from bot.engine import Engine
from bot.knowledge_model import Fact
from bot.wording import suggestion_label

CALLBACK_PREFIX: Final = "fact:"
CALLBACK_HASH_PREFIX: Final = "fact#"
"""Used instead of ``fact:<id>`` when that would exceed Telegram's 64-byte callback data."""
MAX_CALLBACK_BYTES: Final = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)
MAX_BUTTON_LABEL: Final = 64
MAX_KEYBOARD_BUTTONS: Final = int(InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER)
"""Telegram refuses an inline keyboard with more buttons than this."""


def button_label(fact: Fact, language: str = "en") -> str:
    """A suggestion button's text: the fact's first phrasing, at most 64 characters."""
    label = " ".join(suggestion_label(fact, language).split())
    return label if len(label) <= MAX_BUTTON_LABEL else label[: MAX_BUTTON_LABEL - 1] + "…"


def id_hash(fact_id: str) -> str:
    """A short stable hash of a fact id, for ids too long for callback data or result ids."""
    return hashlib.sha256(fact_id.encode()).hexdigest()[:24]


def callback_data(fact: Fact) -> str:
    """``fact:<id>``, or a hash of the id when that would not fit in 64 bytes."""
    data = CALLBACK_PREFIX + fact.id
    if len(data.encode()) <= MAX_CALLBACK_BYTES:
        return data
    return CALLBACK_HASH_PREFIX + id_hash(fact.id)


def fact_for_callback(engine: Engine, data: str) -> Fact | None:
    """The fact a button's data names in ``engine``'s knowledge base, or None if gone."""
    if data.startswith(CALLBACK_PREFIX):
        return engine.kb.fact(data[len(CALLBACK_PREFIX) :])
    if data.startswith(CALLBACK_HASH_PREFIX):
        wanted = data[len(CALLBACK_HASH_PREFIX) :]
        return next((f for f in engine.kb.facts if id_hash(f.id) == wanted), None)
    return None


def keyboard(facts: Sequence[Fact], language: str = "en") -> InlineKeyboardMarkup | None:
    """One button per suggested fact, one per row (at most 100); None when there is none."""
    if not facts:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button_label(f, language), callback_data=callback_data(f))]
            for f in facts[:MAX_KEYBOARD_BUTTONS]
        ]
    )
