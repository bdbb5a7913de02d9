"""Matching a message as a whole sentence against a list of phrases.

Small talk is matched this way, and so are the phrasings made only of common words ("what is
this about?"), whose words alone would match any question.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process

_SMALLTALK_EXTRA = 2
_WRAPPED_MAX_WORDS = 24  # longer messages cannot be a short phrase with a few extra words


def word_index(phrases: Sequence[str]) -> dict[str, list[int]]:
    """Word -> positions of the phrases that contain it."""
    index: dict[str, list[int]] = {}
    for position, phrase in enumerate(phrases):
        for word in set(phrase.split()):
            index.setdefault(word, []).append(position)
    return index


def whole_phrase(text: str, choices: Sequence[str], cutoff: float) -> tuple[str, float, int] | None:
    """The choice most like ``text`` as a whole sentence, if it scores ``cutoff`` or more."""
    found = process.extractOne(text, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
    return None if found is None else (found[0], float(found[1]), found[2])


def wrapped_phrase(
    text: str,
    choices: Sequence[str],
    index: dict[str, list[int]],
    cutoff: float,
    found: tuple[str, float, int] | None,
) -> tuple[str, float, int] | None:
    """``found`` (the whole-sentence match), or a better choice contained in ``text``.

    Wrapping allows a few extra words ("thanks a lot, bot", "can you tell me what this is
    about"), never a long sentence that merely contains a short phrase; among contained
    phrases the one covering most of the text wins. Scores below ``cutoff`` are not found.
    """
    words = set(text.split())
    if len(words) > _WRAPPED_MAX_WORDS:
        return found
    # A contained phrase shares at least one word with the text exactly.
    positions = sorted({p for word in words for p in index.get(word, ())})
    for position in positions:
        phrase = choices[position]
        kept = set(phrase.split())
        if len(words - kept) > max(_SMALLTALK_EXTRA, 2 * len(kept)):
            continue
        # Contained means the phrase's words are in the text (one in four may be
        # misspelt): token_set_ratio alone also scores 100 for a text inside the phrase,
        # which made "a" the phrase "was it a online".
        if len(kept - words) > len(kept) // 4:
            continue
        score = fuzz.token_set_ratio(text, phrase, score_cutoff=cutoff)
        if score and (found is None or score > found[1]):
            found = (phrase, score, position)
    return found


def best_phrase(
    text: str,
    choices: Sequence[str],
    index: dict[str, list[int]],
    wrapped: bool,
    cutoff: float,
) -> tuple[str, float, int] | None:
    """The best whole-sentence match for ``text``, or (``wrapped``) contained phrase."""
    found = whole_phrase(text, choices, cutoff)
    return wrapped_phrase(text, choices, index, cutoff, found) if wrapped else found
