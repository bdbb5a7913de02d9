"""Conversations: follow-up questions and several questions in one message.

A message is first split into the questions it asks (:func:`questions_of`); each is answered
in turn, the one before serving as context for the next, so "who met and when?" is "who met?"
and "when did they meet?". A question that cannot stand alone ("and in 2023?", "who is she?",
"tell me more") is resolved against the conversation's previous question and answer:

- a pronoun (he, she, they, o, она...) becomes the person of the previous turn it can refer
  to (the knowledge file's ``people:`` says who is "he" and who is "she");
- an elliptical question ("and in 2023?", "what about the UK?", "when?") is merged with the
  previous question: its numbers replace the previous one's, its other words are added;
- "tell me more" gives the fact nearest in meaning to the previous one that the
  conversation has not given yet.

A resolution is used only when the engine answers it confidently and every word the
follow-up adds is a word of the knowledge base, so context never turns a right decline into
a wrong answer ("and pizza?" after a trade question is declined, as it would be alone).
Everything here is pure: the caller keeps each conversation's :class:`Context`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, replace

from bot.asks import question_kind
from bot.engine import QUESTION_WORDS, Engine, Why, split_questions
from bot.knowledge_model import Fact
from bot.language import detect_language
from bot.matcher import Verdict
from bot.normalise import fold, is_number, tokenize
from bot.replies import Reply, reply_to

CONTEXT_SECONDS = 600.0
"""How long a conversation's previous turn counts as context (config: ``context_minutes``)."""
MAX_PARTS = 4
"""At most this many questions of one message are answered."""
MAX_CONVERSATIONS = 10_000
"""Contexts kept in memory at most; the least recently used go first."""
FOLLOW_UP_WORDS = 6
"""A follow-up without a pronoun or connector is at most this many words ("when?")."""

# --- general language knowledge: the words that make a question lean on the one before ---


def _folded(words: str) -> frozenset[str]:
    """The space-separated ``words`` as :func:`fold` leaves them (what messages are compared
    on: "onları" is "onlari", "её" is "ее")."""
    return frozenset(fold(w) for w in words.split())


_PERSON_PRONOUNS: dict[str, frozenset[str]] = {
    "he": _folded("he him his himself он его ему него нему ним нём нем"),
    "she": _folded("she her hers herself она её ее ей неё нее ней ею нею"),
}
# Turkish and Azerbaijani "o" is either; a plural refers to everyone of the previous turn.
_EITHER = _folded("o onu onun ona ondan onunla")
_PLURAL = _folded("they them their theirs onlar onları onların onlara onlarla они их им ними них")
_THING = _folded("it its that this those these bu şu bunu bunun это этот эта оно")
_REFERRING = _EITHER | _PLURAL | _THING | frozenset().union(*_PERSON_PRONOUNS.values())
_CONNECTORS = tuple(
    sorted(
        (
            "and what about",
            "and how about",
            "what about",
            "how about",
            "and",
            "also",
            "ok and",
            "okay and",
            "so",
            "then",
            "but",
            "peki",
            "ya",
            "ve",
            "bir de",
            "bəs",
            "və",
            "bir də",
            "а как насчет",
            "а что насчет",
            "а что с",
            "ну а",
            "а",
            "и",
        ),
        key=len,
        reverse=True,
    )
)
_FOLDED_CONNECTORS = tuple((c, fold(c)) for c in _CONNECTORS)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_FILLERS = _folded(
    "ok okay cool great thanks thank you hmm hm right nice tamam peki sag ol "
    "yaxsi oldu сагол хорошо ок ясно понятно спасибо please pls"
)
_MORE = tuple(
    fold(p)
    for p in (
        "tell me more",
        "more",
        "more please",
        "go on",
        "anything else",
        "what else",
        "continue",
        "more details",
        "details",
        "and then",
        "what else did they say",
        "devam",
        "devam et",
        "daha fazla",
        "başka",
        "başka ne",
        "daha fazla anlat",
        "davam",
        "davam et",
        "başqa",
        "başqa nə",
        "daha ətraflı",
        "ещё",
        "еще",
        "подробнее",
        "дальше",
        "что ещё",
        "расскажи больше",
        "расскажи ещё",
    )
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# "who wrote it, where was it published and when": a comma before a question word.
_LISTED = re.compile(rf",\s*(?=(?:{QUESTION_WORDS})\b)", re.IGNORECASE)
_ASKING = re.compile(rf"^(?:{QUESTION_WORDS})$", re.IGNORECASE)
# "what else did he brief on?", "any others?", "başka ne?", "что ещё?": more of the same.
_COMPARE = _folded(
    "bigger smaller larger higher lower difference gap compare comparison compared vs versus "
    "than far grow growth triple double percent both fark karşılaştır kıyasla müqayisə "
    "fərq разница сравни сравнить больше меньше раз"
)
# The sides of a comparison: "2021 trade or the 2023 goal", "Turkiye than the UK".
_SIDES = re.compile(r"\s+(?:or|vs\.?|versus|than|and|veya|yoxsa|или|чем)\s+|,\s*", re.I)
COMPARE_FLOOR = 0.1
"""A fact compared must have at least this probability for the message (the rule's)..."""
COMPARE_LEXICAL_FLOOR = 10.0
"""... or at least this lexical score (0-100)."""
_ELSE = _folded("else other others another besides başka başqa ещё еще другие другое кроме")
_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;\n]*")


@dataclass(frozen=True, slots=True)
class Context:
    """What a conversation's next question may lean on."""

    question: str
    """The previous question, as resolved to stand alone."""
    facts: tuple[str, ...]
    """The facts the previous reply gave."""
    given: frozenset[str]
    """Every fact this conversation has been given ("tell me more" offers the others)."""
    language: str
    at: float
    """When (the caller's clock, in seconds)."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One reply of a conversation, and the context it leaves."""

    reply: Reply
    context: Context | None


def questions_of(text: str) -> list[str]:
    """The questions ``text`` asks, in order: its sentences that ask something, each split
    where "and"/"ve"/"и" joins a second question ("who met and when?")."""
    sentences = [s.strip() for s in _SENTENCE.findall(text) if _WORD.search(s)]
    asking = [s for s in sentences if s.endswith("?")]
    if len(asking) < 2:
        asking = [text.strip()]
    out: list[str] = []
    for sentence in asking:
        for clause in split_questions(sentence):
            out.extend(c.strip(" ,") for c in _LISTED.split(clause) if _WORD.search(c))
    return out[:MAX_PARTS] if len(out) > 1 else [text]


def _words(text: str) -> list[str]:
    return tokenize(fold(text))


def _strip_connector(text: str) -> str:
    """``text`` without a leading "and", "what about", "peki"... and fillers ("ok, and")."""
    rest = text.strip()
    changed = True
    while changed:
        changed = False
        words = _words(rest)
        if words and words[0] in _FILLERS and len(words) > 1:
            rest = re.sub(r"^\W*[^\W_]+\W*", "", rest, count=1)
            changed = True
            continue
        folded = fold(rest)
        for connector, c in _FOLDED_CONNECTORS:
            if folded.startswith(c) and (len(folded) == len(c) or not folded[len(c)].isalnum()):
                rest = rest[len(connector) :].lstrip(" ,.-")
                changed = True
                break
    return rest


def _has_connector(text: str) -> bool:
    return _strip_connector(text) != text.strip()


_MORE_TAILS = ("", " please", " pls", " about it", " about that", " about this", " on that")


def asks_for_more(text: str) -> bool:
    """True for "tell me more", "anything else?", "devam", "подробнее"... (the whole
    message, give or take "please" or "about it")."""
    folded = " ".join(_words(_strip_connector(text)))
    return any(folded == m + tail for m in _MORE for tail in _MORE_TAILS)


def _people_in(engine: Engine, texts: list[str]) -> list[str]:
    """The knowledge file's people named in ``texts`` (any of their names), first named first."""
    found: list[tuple[int, str]] = []
    tokens = [t for text in texts for t in engine.index.lookup.tokens(text)]
    for name in engine.kb.people:
        parts = set(engine.index.lookup.tokens(name))
        positions = [i for i, t in enumerate(tokens) if t in parts]
        if positions:
            found.append((positions[0], name))
    return [name for _, name in sorted(found)]


def _with_people(engine: Engine, text: str, context: Context) -> str | None:
    """``text`` with its person pronouns replaced by the people they can refer to, or None."""
    found = _people_rewrites(engine, text, context)
    return found[0] if found else None


def _people_rewrites(engine: Engine, text: str, context: Context) -> list[str]:
    """``text`` with its person pronouns replaced by the people they refer to: by surname
    (how the article names them after the first time), then by full name; [] if none."""
    facts = [f for f in (engine.kb.fact(i) for i in context.facts) if f is not None]
    named = _people_in(engine, [context.question, *(f.answer for f in facts)])
    if not named:
        return []
    found = (_substituted(engine, text, named, short) for short in (True, False))
    return [r for r in dict.fromkeys(found) if r is not None]


def _substituted(engine: Engine, text: str, named: list[str], short: bool) -> str | None:
    """``text`` with each pronoun that fits one of ``named`` replaced, or None."""
    changed = False

    def swap(m: re.Match[str]) -> str:
        nonlocal changed
        word = fold(m.group(0))
        group = next((g for g, words in _PERSON_PRONOUNS.items() if word in words), None)
        if group is not None:
            fits = [n for n in named if engine.kb.people[n] == group]
        elif word in _EITHER:
            fits = named if len(named) == 1 else []
        elif word in _PLURAL:
            fits = named if len(named) > 1 else []
        else:
            return m.group(0)
        if len(fits) == 1 or (word in _PLURAL and fits):
            changed = True
            return " and ".join(n.split()[-1] if short else n for n in fits)
        return m.group(0)

    out = _WORD.sub(swap, text)
    return out if changed else None


def _merged(previous: str, follow_up: str) -> str:
    """The previous question with the follow-up's numbers in place of its own, and the
    follow-up's other words added ("how much was trade in 2021?" + "and in 2023?")."""
    rest = _strip_connector(follow_up).rstrip("?!. ")
    numbers = [w for w in _words(rest) if is_number(w)]
    base = previous.rstrip("?!. ")
    if numbers and any(is_number(w) for w in _words(base)):
        replaced = iter(numbers)
        base = _NUMBER.sub(lambda m: next(replaced, m.group(0)), base)
        rest = " ".join(w for w in rest.split() if not any(ch.isdigit() for ch in w))
        rest = " ".join(w for w in rest.split() if fold(w) not in {"in", "for", "of"})
    return f"{base} {rest}".strip() + "?"


def _leans_on_context(text: str) -> bool:
    words = _words(text)
    if not words:
        return False
    pronoun = any(w in _REFERRING for w in words)
    return pronoun or _has_connector(text) or len(words) <= 2


def _adds_only_known_words(engine: Engine, previous: str, follow_up: str) -> bool:
    """Every word the follow-up brings (beyond the previous question's) is a word the
    knowledge base knows: an unknown topic ("and pizza?") must not borrow the last answer."""
    before = set(engine.index.lookup.tokens(previous))
    for token in engine.index.lookup.content(_strip_connector(follow_up)):
        if token in before or token in engine.index.lookup.stopwords:
            continue
        if not engine.index.lookup.knows(token):
            return False
    return True


def _more(engine: Engine, context: Context, question: str, language: str) -> Reply | None:
    for fact_id in context.facts:
        for fact in engine.related(fact_id):
            if fact.id not in context.given:
                return _fact_reply(engine, fact, question, language)
    return None


def _fact_reply(engine: Engine, fact: Fact, question: str, language: str) -> Reply:
    return Reply(question, Verdict.ANSWER, fact, 100.0, 100.0, (), None, engine.kb, language)


def _answer_part(
    engine: Engine, part: str, context: Context | None, hint: str | None
) -> tuple[Reply, str]:
    """The reply to one question, and the question as it stands alone."""
    language_hint = context.language if context is not None else hint
    if context is None or not context.facts:
        alone = reply_to(engine, part, language_hint)
        compared = _compared(engine, part, None, alone.language)
        return (compared, part) if compared is not None else (alone, part)
    language = detect_language(part) or context.language
    # "Tell me more", a comparison and "what else" are decided without the message's own
    # reply, which is computed only when one of them does not apply.
    if asks_for_more(part):
        more = _more(engine, context, part, language)
        if more is not None and more.fact is not None:
            return more, more.fact.questions[0]
        return reply_to(engine, part, language_hint), part
    compared = _compared(engine, part, context, language)
    if compared is not None:
        return compared, part
    other = _else(engine, part, context, language)
    if other is not None and other.fact is not None:
        return other, other.fact.questions[0]
    alone = reply_to(engine, part, language_hint)
    if not _leans_on_context(part) and len(_words(part)) > FOLLOW_UP_WORDS:
        return alone, part
    if alone.verdict is Verdict.ANSWER and not _leans_on_context(part):
        return alone, part
    rewrites = [(r, False) for r in _people_rewrites(engine, part, context)]
    stripped = _strip_connector(part)
    if stripped and stripped != part.strip() and not _bare(engine, stripped):
        # "and the target?" is "the target?"; but "and when?" is not "when?" (which alone
        # asks when the article appeared): a bare question word asks about the last topic.
        rewrites.append((stripped, True))
    if _adds_only_known_words(engine, context.question, part):
        rewrites.append((_merged(context.question, part), True))
        if not any(is_number(w) for w in _words(part)):
            # "and the target?" after "trade in 2021?": the topic carries over, the year
            # (the previous question's detail) does not.
            unspecific = _NUMBER.sub(" ", context.question)
            rewrites.append((_merged(unspecific, part), True))
    # Merged guesses that were only "probably this fact", by fact: one such guess is not
    # enough, two different readings of the follow-up agreeing on a new fact are.
    agreeing: dict[str, list[Reply]] = {}
    for rewrite, merged in rewrites:
        resolved = reply_to(engine, rewrite, language)
        if (
            merged
            and resolved.verdict is Verdict.UNCERTAIN
            and resolved.fact is not None
            and resolved.fact.id not in context.facts
            and _kind_fits(engine, resolved.fact, part)
        ):
            agreeing.setdefault(resolved.fact.id, []).append(resolved)
        # A pronoun replaced by its person restates the question, so the engine's "probably
        # this" stands as it would for the question typed out; a merge is a guess, so only
        # a confident answer counts.
        wanted = (Verdict.ANSWER,) if merged else (Verdict.ANSWER, Verdict.UNCERTAIN)
        if resolved.verdict not in wanted or resolved.fact is None:
            continue
        if resolved.verdict is Verdict.UNCERTAIN and not _kind_fits(engine, resolved.fact, part):
            continue  # "how old is she?" is not asked by any phrasing of the date
        if (
            merged
            and resolved.fact.id in context.facts
            and not (_bare(engine, part) and _asks_of(engine, resolved.fact, part))
        ):
            continue  # the follow-up's words changed nothing: it is not answered by that
        # A merged question reads oddly and grows turn by turn; the fact's own first
        # phrasing is what the next follow-up should lean on.
        standalone = resolved.fact.questions[0] if merged else rewrite
        return replace(resolved, question=part, language=language), standalone
    for fact_id, guesses in agreeing.items():
        if len(guesses) >= 2:
            first = guesses[0]
            assert first.fact is not None
            readings = "; ".join(repr(g.question) for g in guesses)
            why = Why(f"follow-up: {len(guesses)} readings of it agree on {fact_id} ({readings})")
            # An answer, so without the "did you mean" suggestions an uncertain reply has.
            agreed = replace(
                first,
                question=part,
                language=language,
                verdict=Verdict.ANSWER,
                why=why,
                suggestions=(),
                nearby=None,
            )
            return agreed, first.fact.questions[0]
    unresolved = alone.verdict is Verdict.UNCERTAIN and any(w in _REFERRING for w in _words(part))
    if alone.fact is not None and (_bare(engine, part) or unresolved):
        # A fragment ("when?", "why?") means nothing alone, and a guess at a question whose
        # "she" or "that" could not be resolved is a guess at something else: what it meant
        # is not answered.
        return _declined(engine, part, context, language), part
    return alone, part


def _kind_fits(engine: Engine, fact: Fact, question: str) -> bool:
    """The question asks for something (a person, a time...) the fact's phrasings ask for."""
    kind = question_kind(question)
    return kind in ("what", "choice", "yesno") or kind in engine.kinds_asked(fact)


def _asks_of(engine: Engine, fact: Fact, follow_up: str) -> bool:
    """Whether the last answer also answers the follow-up's kind of question: "by when?"
    after the 2023 goal is answered by it (its phrasings ask when), "why?" is not."""
    kind = question_kind(follow_up)
    return kind != "what" and (kind == "choice" or kind in engine.kinds_asked(fact))


def _bare(engine: Engine, text: str) -> bool:
    """Only question words and stopwords: "when?", "and why?" (not "date?")."""
    words = engine.index.lookup.tokens(_strip_connector(text))
    return all(w in engine.index.lookup.stopwords or _ASKING.match(w) for w in words)


def _compared(engine: Engine, part: str, context: Context | None, language: str) -> Reply | None:
    """For "how much bigger is the 2023 goal than 2021 trade?": the two facts compared, each
    with its quote. Either each side of the comparison names a fact on its own, or the
    message leans on the last answer ("how far are they from that goal?") and the engine
    finds the fact nearest to it among the message's candidates."""
    if not any(w in _COMPARE for w in _words(part)):
        return None
    sides = [s for s in _SIDES.split(part) if _WORD.search(s)]
    ids: list[str] = []
    for side in sides if len(sides) > 1 else ():
        side_reply = reply_to(engine, side, language)
        if side_reply.fact is not None and side_reply.fact.id not in ids:
            ids.append(side_reply.fact.id)
    if len(ids) < 2 and context is not None and context.facts and _leans_on_context(part):
        question = _with_people(engine, part, context) or part
        match = engine.match(question)
        candidates = match.why.candidates if match.why is not None else ()
        ranked = {c.fact.id for c in candidates if c.probability >= COMPARE_FLOOR}
        # Two numbers that no one fact holds both of keep the lexical score below the point
        # where the meaning model is consulted; the lexical ranking still knows the facts.
        ranked |= {f.id for f, score in match.ranking if score >= COMPARE_LEXICAL_FLOOR}
        near = [f.id for f in engine.related(context.facts[0]) if f.id in ranked]
        ids = [context.facts[0], *near[:1]]
    chosen = [f for f in (engine.kb.fact(i) for i in ids[:2]) if f is not None]
    if len(chosen) < 2:
        return None
    return combine(part, [_fact_reply(engine, f, part, language) for f in chosen])


def _else(engine: Engine, part: str, context: Context, language: str) -> Reply | None:
    """For "what else did he brief on?": the engine's best fact for the question (its
    pronouns resolved, "else" dropped) that the conversation has not been given; for a bare
    "any others?", the nearest such fact."""
    words = _words(part)
    if not any(w in _ELSE for w in words):
        return None
    question = " ".join(w for w in _WORD.findall(part) if fold(w) not in _ELSE)
    question = _with_people(engine, question, context) or question
    if _bare(engine, question):
        return _more(engine, context, part, language)
    match = engine.match(question)
    ranked = [c.fact for c in match.why.candidates] if match.why and match.why.candidates else []
    ranked += [f for f, _ in match.ranking]
    for fact in ranked:
        if fact.id not in context.given:
            return _fact_reply(engine, fact, part, language)
    return None


def _declined(engine: Engine, question: str, context: Context, language: str) -> Reply:
    offered = [f for i in context.facts for f in engine.related(i) if f.id not in context.given]
    return Reply(
        question,
        Verdict.NO_ANSWER,
        None,
        0.0,
        0.0,
        tuple(offered[:3]),
        None,
        engine.kb,
        language,
        Why("a follow-up that the previous question does not resolve"),
    )


def respond(
    engine: Engine,
    text: str,
    context: Context | None = None,
    now: float = 0.0,
    language_hint: str | None = None,
) -> Turn:
    """Reply to ``text`` in a conversation whose previous turn left ``context`` (recent
    enough: :class:`Conversations` forgets old ones)."""
    parts = questions_of(text)
    replies: list[Reply] = []
    for part in parts:
        reply, standalone = _answer_part(engine, part, context, language_hint)
        replies.append(reply)
        if reply.fact is not None:
            given = (context.given if context is not None else frozenset()) | {reply.fact.id}
            context = Context(standalone, (reply.fact.id,), given, reply.language, now)
        elif context is None:
            # Nothing to lean on yet, but the language: the buttons of a Russian question
            # answer in Russian.
            context = Context(part, (), frozenset(), reply.language, now)
        else:  # a decline leaves the last answer to lean on
            context = replace(context, language=reply.language, at=now)
    if len(replies) == 1:
        return Turn(replies[0], context)
    return Turn(combine(text, replies), context)


def combine(text: str, replies: list[Reply]) -> Reply:
    """One reply for a message of several questions: each part's, in order."""
    answered = [r for r in replies if r.fact is not None]
    distinct = list(dict.fromkeys(r.fact.id for r in answered if r.fact is not None))
    if not answered:
        return replace(replies[0], question=text)  # one "doesn't say", with suggestions
    if len(distinct) == 1 and len(answered) == len(replies):
        return replace(answered[0], question=text)
    return replace(
        answered[0], question=text, verdict=Verdict.ANSWER, suggestions=(), parts=tuple(replies)
    )


def after_fact(context: Context | None, fact: Fact, language: str, now: float) -> Context:
    """The context after ``fact`` was given directly (a suggestion tapped or picked)."""
    given = (context.given if context is not None else frozenset()) | {fact.id}
    return Context(fact.questions[0], (fact.id,), given, language, now)


class Conversations:
    """Each conversation's context, for ``max_age`` seconds, at most ``limit`` of them."""

    def __init__(self, max_age: float = CONTEXT_SECONDS, limit: int = MAX_CONVERSATIONS) -> None:
        self.max_age = max_age
        self.limit = limit
        self._contexts: OrderedDict[object, Context] = OrderedDict()

    def get(self, key: object, now: float) -> Context | None:
        """The conversation's context, if it is recent enough."""
        context = self._contexts.get(key)
        if context is None or self.max_age <= 0 or now - context.at > self.max_age:
            self._contexts.pop(key, None)
            return None
        return context

    def respond(
        self,
        engine: Engine,
        key: object,
        text: str,
        now: float,
        language_hint: str | None = None,
    ) -> Reply:
        """Reply to ``text`` in conversation ``key`` and keep the context it leaves."""
        turn = respond(engine, text, self.get(key, now), now, language_hint)
        self.put(key, turn.context)
        return turn.reply

    def put(self, key: object, context: Context | None) -> None:
        """Keep ``context`` for the conversation (None forgets it)."""
        self._contexts.pop(key, None)
        if context is None:
            return
        self._contexts[key] = context
        while len(self._contexts) > self.limit:
            self._contexts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._contexts)
