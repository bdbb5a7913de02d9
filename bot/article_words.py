"""The article's own words that tell Turkish from Azerbaijani (:mod:`bot.language`).

The language guess counts frequent function and question words; a question about this
article also uses its topic's words (the ministers' meeting, trade, investors, the two
countries), written differently in the two languages. They are the article's, not the
languages': another article brings other words.
"""

from __future__ import annotations

# fmt: off
ARTICLE_TURKIC = frozenset((
    "görüş", "ticaret",
))
"""Topic words both Turkic languages write alike (they only say "Turkish or Azerbaijani")."""
ARTICLE_OWN: dict[str, frozenset[str]] = {
    "tr": frozenset((
        "bakan", "bakani", "bakanı", "gorustu", "görüştü", "hacmi", "toplanti", "toplantı",
        "türkiye", "yatirimci", "yatırımcı",
    )),
    "az": frozenset((
        "azərbaycan", "dovriyyesi", "dövriyyə", "dövriyyəsi", "gorusdu", "görüşdü", "nazir",
        "naziri", "ticarət", "türkiyə",
    )),
}
"""Topic words only one of the two languages writes so."""
# fmt: on
