"""Guessing the language of a question: English, Turkish, Azerbaijani or Russian.

The guess only chooses the language of the reply; matching itself is language-blind (the
knowledge file's aliases map every language's words onto one vocabulary).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.article_words import ARTICLE_OWN, ARTICLE_TURKIC

LANGUAGES = ("en", "tr", "az", "ru")
DEFAULT_LANGUAGE = "en"

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Letters Azerbaijani uses and Turkish does not.
_AZ_LETTERS = re.compile("[əƏ]")
_TURKIC_LETTERS = re.compile("[ğĞşŞıİçÇöÖüÜ]")

# Frequent function and question words, and the article's topic words
# (:mod:`bot.article_words`). Those both Turkic languages write alike only say "Turkish or
# Azerbaijani"; the language's own words decide between the two.
# fmt: off
_TURKIC = frozenset((
    "bir", "bu", "ile", "ili", "kimdir", "kimin", "kiminle", "kim", "kimle", "mi",
    "midir", "mu", "mü", "mı", "mıdır", "nece", "niye", "niçin", "ol", "olarak", "oldu",
    "salam", "sağ", "selam", "tesekkurler", "ve", "yil", "yıl", "şu",
)) | ARTICLE_TURKIC
# Names such as Türkiye or Yanik carry Turkic letters into English questions; English
# function words outvote them.
_ENGLISH = frozenset((
    "a", "about", "an", "and", "are", "at", "between", "by", "can", "did", "do", "does",
    "for", "from", "has", "have", "how", "in", "is", "it", "me", "of", "on", "or", "tell",
    "that", "the", "their", "they", "this", "to", "was", "were", "what", "when", "where",
    "which", "who", "whom", "why", "will", "with", "you", "your", "thanks", "thank", "hello",
    "hi", "please", "bye", "goodbye",
))
_OWN: dict[str, frozenset[str]] = {
    "tr": frozenset((
        "hakkinda", "hakkında", "hangi", "icin", "için", "kac", "kaç", "merhaba", "nasil",
        "nasıl", "ne", "neden", "nedir", "nerede", "neydi", "sagol", "sağol", "soyle", "söyle",
        "teşekkürler", "yilinda", "yılında",
    )) | ARTICLE_OWN["tr"],
    "az": frozenset((
        "hansi", "hansı", "haqqinda", "haqqında", "harada", "ilde", "ildə", "ilə", "kimlə",
        "necə", "neçə", "niyə", "nə", "nədir", "olub", "təşəkkürlər", "ucun", "və", "üçün",
    )) | ARTICLE_OWN["az"],
}
# fmt: on


def detect_language(text: str) -> str | None:
    """The language ``text`` is most likely written in, or None when it gives no sign."""
    letters = _WORD.findall(text)
    if not letters:
        return None
    cyrillic = sum(1 for ch in text if _CYRILLIC.match(ch))
    latin = sum(1 for word in letters for ch in word if ch.isascii())
    if cyrillic and cyrillic >= latin:
        return "ru"
    words = [w.lower() for w in letters]
    english = sum(1 for w in words if w in _ENGLISH)
    if _AZ_LETTERS.search(text) and english <= 1:
        return "az"
    own = {lang: sum(1 for w in words if w in vocab) for lang, vocab in _OWN.items()}
    turkic = max(own.values()) + sum(1 for w in words if w in _TURKIC)
    if english > turkic:
        return "en"
    if own["az"] != own["tr"]:
        return "az" if own["az"] > own["tr"] else "tr"
    # Turkic letters or words, and nothing Azerbaijani: Turkish, the larger language.
    if turkic or (not english and _TURKIC_LETTERS.search(text)):
        return "tr"
    # No sign either way ("TANAP", "haberin tarihi" typed without Turkish letters): let the
    # client's language decide.
    return "en" if english else None


def choose_language(text: str, hint: str | None = None) -> str:
    """The reply language: the question's, else the user's client language, else English."""
    found = detect_language(text)
    if found is not None:
        return found
    code = (hint or "").split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def labels_by_language(questions: Sequence[str], written: Mapping[str, str]) -> dict[str, str]:
    """Per language, a fact's label: ``written`` (the file's ``labels:``), else the first of
    ``questions`` in that language.

    Guessing a phrasing's language costs a millisecond per fact; suggestion labels are on
    every "doesn't say" reply, so the loader finds them once.
    """
    labels: dict[str, str] = {}
    for question in reversed(questions):
        language = detect_language(question)
        if language is not None:
            labels[language] = question
    labels.update(written)
    return labels
