"""Guessing the language of a question: English, Turkish, Azerbaijani or Russian.

The guess only chooses the language of the reply; matching itself is language-blind (the
knowledge file's aliases map every language's words onto one vocabulary).
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "tr", "az", "ru")
DEFAULT_LANGUAGE = "en"

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Letters Azerbaijani uses and Turkish does not.
_AZ_LETTERS = re.compile("[əƏ]")
_TURKIC_LETTERS = re.compile("[ğĞşŞıİçÇöÖüÜ]")

# Frequent function and question words that tell the languages apart. Words shared by
# Turkish and Azerbaijani are left out, as are words that are also English.
_MARKERS: dict[str, frozenset[str]] = {
    "tr": frozenset(
        [
            "ne",
            "nedir",
            "neydi",
            "kimdir",
            "kimin",
            "kiminle",
            "nasıl",
            "nasil",
            "nerede",
            "neden",
            "niçin",
            "hangi",
            "kaç",
            "kac",
            "oldu",
            "olarak",
            "için",
            "icin",
            "ile",
            "ve",
            "bir",
            "bu",
            "şu",
            "mı",
            "mi",
            "mu",
            "mü",
            "mıdır",
            "midir",
            "yılında",
            "yilinda",
            "yıl",
            "yil",
            "hakkında",
            "hakkinda",
            "söyle",
            "soyle",
            "görüştü",
            "gorustu",
            "toplantı",
            "toplanti",
            "ticaret",
            "hacmi",
            "yatırımcı",
            "yatirimci",
            "bakanı",
            "bakani",
            "bakan",
            "türkiye",
            "turkiye",
            "merhaba",
            "teşekkürler",
            "tesekkurler",
            "sağol",
            "sagol",
            "selam",
        ]
    ),
    "az": frozenset(
        [
            "nə",
            "nədir",
            "kimdir",
            "kimlə",
            "kimle",
            "necə",
            "nece",
            "harada",
            "niyə",
            "niye",
            "hansı",
            "hansi",
            "neçə",
            "nece",
            "olub",
            "oldu",
            "üçün",
            "ucun",
            "ilə",
            "ile",
            "və",
            "ve",
            "bir",
            "bu",
            "ildə",
            "ilde",
            "ili",
            "haqqında",
            "haqqinda",
            "görüşdü",
            "gorusdu",
            "görüş",
            "ticarət",
            "ticaret",
            "dövriyyəsi",
            "dovriyyesi",
            "dövriyyə",
            "investor",
            "nazir",
            "naziri",
            "azərbaycan",
            "azerbaycan",
            "türkiyə",
            "turkiye",
            "salam",
            "təşəkkürlər",
            "tesekkurler",
            "sağ",
            "ol",
        ]
    ),
}
# Words only one of the two Turkic languages writes this way.
_ONLY = {
    "tr": frozenset(
        [
            "ne",
            "nedir",
            "neydi",
            "nasıl",
            "nasil",
            "nerede",
            "neden",
            "hangi",
            "kaç",
            "kac",
            "için",
            "icin",
            "yılında",
            "yilinda",
            "hakkında",
            "hakkinda",
            "söyle",
            "soyle",
            "görüştü",
            "gorustu",
            "toplantı",
            "toplanti",
            "hacmi",
            "yatırımcı",
            "yatirimci",
            "bakanı",
            "bakani",
            "bakan",
            "türkiye",
            "merhaba",
            "teşekkürler",
            "sağol",
            "sagol",
        ]
    ),
    "az": frozenset(
        [
            "nə",
            "nədir",
            "kimlə",
            "necə",
            "harada",
            "niyə",
            "hansı",
            "hansi",
            "neçə",
            "olub",
            "üçün",
            "ucun",
            "ilə",
            "və",
            "ildə",
            "ilde",
            "haqqında",
            "haqqinda",
            "görüşdü",
            "gorusdu",
            "ticarət",
            "dövriyyəsi",
            "dovriyyesi",
            "dövriyyə",
            "nazir",
            "naziri",
            "azərbaycan",
            "türkiyə",
            "təşəkkürlər",
        ]
    ),
}


def detect_language(text: str) -> str | None:
    """The language ``text`` is most likely written in, or None when it gives no sign."""
    letters = _WORD.findall(text)
    if not letters:
        return None
    cyrillic = sum(1 for ch in text if _CYRILLIC.match(ch))
    latin = sum(1 for word in letters for ch in word if ch.isascii())
    if cyrillic and cyrillic >= latin:
        return "ru"
    if _AZ_LETTERS.search(text):
        return "az"
    words = [w.lower() for w in letters]
    only = {lang: sum(1 for w in words if w in vocab) for lang, vocab in _ONLY.items()}
    if only["az"] > only["tr"]:
        return "az"
    if only["tr"] > only["az"]:
        return "tr"
    if _TURKIC_LETTERS.search(text):
        return "tr"
    hits = {lang: sum(1 for w in words if w in vocab) for lang, vocab in _MARKERS.items()}
    if hits["az"] > hits["tr"]:
        return "az"
    if hits["tr"]:
        return "tr"
    if any(ch.isascii() for word in letters for ch in word):
        return "en"
    return None


def choose_language(text: str, hint: str | None = None) -> str:
    """The reply language: the question's, else the user's client language, else English."""
    found = detect_language(text)
    if found is not None:
        return found
    code = (hint or "").split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE
