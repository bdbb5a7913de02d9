"""What kind of answer a question asks for: a person, a time, a place, an amount, ...

A fact answers some kinds of question and not others: "who wrote it?" wants a person, and
"who is the god of trade?" is not answered by a trade figure however many words it shares
with it. The kinds a fact answers are read off its own phrasings (how its editors ask for
it), so nothing per fact has to be declared; the question's kind comes from its question
words in English, Turkish, Azerbaijani or Russian.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from types import MappingProxyType

KINDS = (
    "person",
    "time",
    "place",
    "amount",
    "reason",
    "manner",
    "choice",
    "yesno",
    "outcome",
    "what",
)
"""The kinds of answer, ``what`` being anything else (a topic, a description)."""

# Whether a goal was reached: a verb of achieving with a word for the goal, anywhere in the
# question ("did they actually hit the $15 billion target?"). An article that states a goal
# does not say whether it was met.
_OUTCOME = re.compile(
    r"(?<!\w)(?:reach|reached|hit|achieve|achieved|meet|attain|attained|manage|managed|"
    r"succeed|succeeded|fail|failed|fulfil|fulfill|fulfilled|accomplish|accomplished|"
    r"ulaş|ulas|tuttur|başar|basar|gerçekleş|gerceklesti|çatdı|catdi|çatıb|nail|reallaş|"
    r"достиг|достигли|достигнут|удалось|выполнил|выполнили|выполнен|добились)\w*"
    r"(?=.*(?<!\w)(?:target|goal|aim|plan|billion|hedef|hədəf|hedəf|цел|план|млрд)\w*)"
    r"|(?<!\w)(?:target|goal|hedef|hədəf|цел)\w*(?=.*(?<!\w)(?:reached|met|achieved|hit|"
    r"ulaşıldı|ulasildi|tutturuldu|gerçekleşti|çatılıb|достигнут|достигнута|выполнен)\w*)",
    re.IGNORECASE | re.DOTALL,
)
# ... unless it asks about the goal itself ("when do they want to reach $15 billion?").
_ASPIRATION = re.compile(
    r"(?<!\w)(?:want|wants|should|supposed|plan|plans|planned|aim|aims|intend|intends|expect|"
    r"expected|hope|hopes|going to|hedefl|planl|istiyor|isteniyor|istəyir|planlaşdır|"
    r"нужно|хотят|хочет|планируют|планирует|должны|должен|намерены|собираются)\w*",
    re.IGNORECASE,
)

_PATTERNS: tuple[tuple[str, str], ...] = (
    # Earlier rows win a tie at the same position ("how much" before "how").
    (
        "person",
        r"who|whom|whose|kim|kimin|kimi|kimle|kiminle|kimler|kimlerle|kimdir|кто|кого|кому|кем|чей|чья|чьи",
    ),
    (
        "time",
        r"when|what year|which year|what date|ne zaman|hangi yıl|hangi yil|hangi tarih|nə vaxt|ne vaxt|hansı il|hansi il|когда|в каком году|какого числа",
    ),
    ("place", r"where|nerede|nereye|nereden|harada|haradan|hara|где|куда|откуда"),
    (
        "amount",
        r"how much|how many|how big|how large|what amount|ne kadar|kaç|kac|nə qədər|ne qeder|neçə|nece|сколько|каков объем|какова сумма",
    ),
    ("reason", r"why|niye|neden|niçin|niyə|niye|почему|зачем"),
    ("manner", r"how|nasıl|nasil|necə|nece|как|каким образом"),
    ("choice", r"which|what kind|hangi|hansı|hansi|какой|какая|какие|каких|каком|какую"),
    ("yesno", r"^(?:did|do|does|is|are|was|were|has|have|had|will|can|could)|mı|mi|mu|mü|ли"),
)
_COMPILED = tuple(
    (kind, re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)) for kind, pattern in _PATTERNS
)


SCOPE = frozenset(  # a word list reads better than 150 quoted strings
    """else other others another before after previous previously former formerly still today
    now currently nowadays next future later again yet ever since anymore
    başka baska diğer diger önce once sonra hâlâ hala bugün bugun şimdi simdi gelecek gelecekte
    önceki onceki eski tekrar yine artık artik
    başqa basqa digər diger əvvəl evvel hələ hele indi gələcək gelecek əvvəlki evvelki keçmiş
    kecmis yenə yene artıq artiq
    ещё еще другой другие других другое другая раньше прежде сейчас сегодня теперь следующий
    следующая следующие будущем будущее бывший прежний снова опять""".split()  # noqa: SIM905
)
"""Scope words of English, Turkish, Azerbaijani and Russian (with and without their letters)."""
_WORD = re.compile(r"\w+")

TIME_SCOPE = frozenset(
    """before previous previously former formerly still since anymore future later
    önceki eski hâlâ gelecekte əvvəlki hələ gələcək раньше прежде бывший прежний
    будущем""".split()  # noqa: SIM905
)
"""Scope words that move a question to another time than the article's ("who was minister
*before* her?", "is she *still* minister?"): a fact answers such a question only when its
own texts use the word. Only words that date and little else: not "next" or "after", which
rank or mean "care for" as often ("the next biggest investor", "looking after children");
not "önce", "sonra" or "keçmiş", which are also "just now" ("az önce"), "then" and the
article's own "past period"; not "again", which is also "say that again". Only the
spellings with their letters: folded, "hâlâ" is the Turkish "aunt"."""


def question_kind(text: str) -> str:
    """The kind of answer ``text`` asks for: the first question word wins."""
    if _OUTCOME.search(text) and not _ASPIRATION.search(text):
        return "outcome"
    best: tuple[int, int, str] | None = None
    for order, (kind, pattern) in enumerate(_COMPILED):
        found = pattern.search(text)
        if found is not None and (best is None or (found.start(), order) < best[:2]):
            best = (found.start(), order, kind)
    return "what" if best is None else best[2]


def scope_words(text: str) -> frozenset[str]:
    """Words in ``text`` that move a question beyond what a statement covers: another person
    or thing ("else", "other"), another time ("before", "still", "next")."""
    return frozenset(w for w in _WORD.findall(text.lower()) if w in SCOPE)


def kind_profile(phrasings: Iterable[str]) -> Mapping[str, float]:
    """Log-probability of each kind of question among a fact's phrasings (add-one smoothed)."""
    counts = Counter(question_kind(p) for p in phrasings)
    total = sum(counts.values()) + len(KINDS)
    return MappingProxyType({k: math.log((counts[k] + 1) / total) for k in KINDS})
