"""Telegram's length limit in UTF-16 code units, and the budgets that keep a reply within it.

:func:`telegram_length` counts as Telegram does; :func:`escape_within` escapes a text for
Telegram HTML and cuts it to a budget.
"""

from __future__ import annotations

import html

TELEGRAM_MAX_CHARS = 4096
"""Telegram's limit on a message's text after entity parsing, in UTF-16 code units."""

# Budgets (UTF-16 code units of escaped HTML) that keep any reply within TELEGRAM_MAX_CHARS
# even when the knowledge file holds extreme texts; a real one never comes close.
LEAD_BUDGET = 1200
QUOTE_BUDGET = 2000
SOURCE_BUDGET = 400
NOTE_BUDGET = 300
TITLE_BUDGET = 400
LINE_BUDGET = 1000


def telegram_length(text: str) -> int:
    """The length of ``text`` as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def escape_within(text: str, limit: int) -> str:
    """``text`` escaped for Telegram HTML, cut (ending in "…") to at most ``limit`` units.

    The limit applies to the escaped text, so it also bounds the text Telegram displays.
    """
    escaped = html.escape(text, quote=False)
    if telegram_length(escaped) <= limit:
        return escaped
    low, high = 0, min(len(text), limit)  # every character escapes to at least one unit
    while low < high:  # the longest prefix whose escaped form and "…" fit
        middle = (low + high + 1) // 2
        if telegram_length(html.escape(text[:middle], quote=False)) < limit:
            low = middle
        else:
            high = middle - 1
    return html.escape(text[:low], quote=False) + "…"
