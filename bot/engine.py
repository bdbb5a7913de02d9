"""The answer engine: lexical evidence, meaning, and the decision rule, for one knowledge base.

Per question:
1. the lexical matcher (:mod:`bot.matcher`) scores facts by the question's words: names and
   numbers decide here (2021 vs 2023, the UK vs Russia), and small talk is recognised;
2. when some fact's words are in the question (lexical score at least ``consult_floor``),
   the meaning model (:mod:`bot.meaning`) compares the question with every phrasing,
   negative example and small-talk phrase; a chatty message's last question is compared too;
3. for each candidate fact, :mod:`bot.decision`'s features are measured and its rule gives
   the probability that the fact answers; the best is answered when it is likely enough.

Without a decision file (toy knowledge bases in tests, or ``knowledge/decision.yaml``
removed) the engine is the lexical matcher alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from bot.asks import TIME_SCOPE, kind_profile, question_kind, scope_words
from bot.decision import NAMES, Rule, RuleError, read_rule
from bot.knowledge_model import Fact, KnowledgeBase, KnowledgeError, Problem
from bot.match_settings import MatchSettings
from bot.matcher import Index, Match, Verdict
from bot.meaning import Meaning, TextSpace, Vectors, cut, shared_e5
from bot.normalise import normalise

CANDIDATES = 3
"""The lexical and the meaning model's best this many facts are candidates."""
NEIGHBOURS = 10
"""How many nearest knowledge-base texts the ``neighbours`` feature looks at."""
CHATTY_WORDS = 12
"""A message this long with several sentences is also judged by its last question."""

_NEGATIVE = -1  # owner code of a negative example in the text space
_CHAT = -2  # owner codes at and below this: small-talk intents
_PARTS = re.compile(r"[^.!?;:\n]+[.!?;:\n]*")
VETO_KINDS = frozenset({"outcome"})
"""Kinds of question a fact answers only when one of its phrasings asks that kind: an article
that states a goal does not say whether it was met ("did they reach $15 billion?")."""
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?")
_YEAR = re.compile(r"(?:19|20)\d\d")
MIN_CLAUSE_WORDS = 3
MAX_SEGMENTS = 4
"""At most this many parts of one message are judged (each costs the model one vector)."""
"""Each question of a joined message needs this many words to be judged on its own."""
# "and"/"ve"/"və"/"и" followed by a question word starts a second question.
QUESTION_WORDS = (
    r"what|who|whom|which|when|where|why|how|"
    r"is|are|was|were|did|does|do|has|have|can|ne|kim|hangi|nasıl|nasil|neden|kaç|nə|hansı|"
    r"neçə|necə|niyə|harada|что|кто|какой|какая|какое|какие|какую|каком|каких|когда|где|"
    r"сколько|как|почему|зачем"
)
"""Words that begin a question (a regular-expression alternation)."""
JOINED = re.compile(
    rf"[,?]?\s+(?:and|also|plus|ve|və|hem|и|а)\s+(?=(?:{QUESTION_WORDS})\b)", re.IGNORECASE
)

WH_WORDS = (
    r"what|who|whom|whose|which|when|where|why|how|"
    r"ne|neler|nedir|neydi|neyi|kim|kimdir|kimin|hangi|nasıl|nasil|neden|niye|nerede|kaç|kac|"
    r"nə|nədir|nəydi|nəyi|nələr|hansı|hansıdır|hansi|neçə|nece|necə|niyə|harada|"
    r"что|кто|кем|кого|кому|чей|чья|чьё|чьи|какой|какая|какое|какие|какую|каком|каких|каким|"
    r"когда|где|сколько|скока|скок|как|почему|зачем|откуда"
)
"""Words that ask wherever they stand: Turkish, Azerbaijani and Russian put them late
("2021'de ticaret hacmi ne kadardı?", "кем работает Янык?")."""
_ASKS = re.compile(rf"(?<!\w)(?:{WH_WORDS})(?!\w)", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"(,\s+|\s+(?:and|also|plus|ve|və|hem|и|а)\s+)", re.IGNORECASE)


def split_questions(sentence: str) -> list[str]:
    """The questions one sentence joins: at "and" + a question word ("who met and when
    did they meet?"), and at a comma or "and"/"ve"/"və"/"и" between clauses that each ask
    with a question word somewhere and have ``MIN_CLAUSE_WORDS`` words ("Babayev'in görevi
    ne, Yanik'in görevi ne?"). A list ("the disabled, elderly and children") asks nothing
    after its first comma, so it stays one question."""
    out: list[str] = []
    for clause in JOINED.split(sentence):
        pieces = _CLAUSE_BREAK.split(clause)
        found: list[str] = []
        current = ""
        for piece in pieces:
            if _CLAUSE_BREAK.fullmatch(piece):
                # A break before a new question belongs to neither side.
                current += piece if current else ""
                continue
            current += piece
            text = current.strip(" ,")
            if _ASKS.search(text) and len(text.split()) >= MIN_CLAUSE_WORDS:
                found.append(text)
                current = ""
        if current.strip(" ,") and found:
            found[-1] = (found[-1] + current).strip(" ,")
        out.extend(found if len(found) > 1 else [clause.strip(" ,")])
    return [c for c in out if c]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One fact considered for one part of the message, with its feature values."""

    fact: Fact
    segment: str
    values: tuple[float, ...]
    probability: float = 0.0
    phrasing: str = ""  # the fact's text nearest in meaning


@dataclass(frozen=True, slots=True)
class Why:
    """Why the engine decided as it did (``explain``, ``ask --json``'s ``why``)."""

    reason: str
    consulted: bool = False  # was the meaning model asked
    segment: str = ""  # the part of the message the decision is about
    candidates: tuple[Candidate, ...] = ()  # best first
    negative: str = ""  # the negative example nearest in meaning
    smalltalk: str = ""  # the small-talk phrase nearest in meaning
    smalltalk_similarity: float = 0.0


@dataclass(frozen=True, slots=True)
class _Space:
    texts: tuple[str, ...]
    space: TextSpace
    fact_starts: np.ndarray  # first row of each fact's texts (rows are grouped by fact)
    negatives: slice
    chats: slice
    statements: slice  # each fact's answer (every language) and quote, grouped by fact
    statement_starts: np.ndarray
    intents: tuple[str, ...]
    typical: np.ndarray  # per fact: 5th percentile of nearest-sibling similarity
    kinds: tuple[dict[str, float], ...]
    numbers: tuple[frozenset[str], ...]  # per fact: every number its texts contain
    scopes: tuple[frozenset[str], ...]  # per fact: the scope words its texts use
    asked: tuple[frozenset[str], ...]  # per fact: the kinds of question its phrasings ask


def _texts_of(fact: Fact) -> tuple[str, ...]:
    return (*fact.questions, *fact.keywords, fact.answer, *fact.answers.values(), fact.quote)


def numbers_in(text: str) -> frozenset[str]:
    """The numbers written in ``text``, a decimal comma read as a point ("4,6" is "4.6")."""
    found = (m.replace(",", ".") for m in _NUMBER.findall(text))
    return frozenset(n.rstrip("0").rstrip(".") if "." in n else n for n in found)


def _years(numbers: frozenset[str]) -> frozenset[str]:
    """The years (1900-2099) among ``numbers`` (:func:`numbers_in`)."""
    return frozenset(n for n in numbers if _YEAR.fullmatch(n))


def _segments(question: str) -> list[str]:
    """The message, and the parts it may ask on their own.

    A chatty message (several sentences, many words) is also judged by its last question;
    a message that joins two questions ("what was trade in 2021 and what is the goal?") by
    each of them, so that either may be answered.
    """
    out = [question]
    parts = [p.strip() for p in _PARTS.findall(question) if p.strip()]
    if len(parts) >= 2:
        if len(question.split()) >= CHATTY_WORDS:
            asking = [p for p in parts if p.endswith("?") or question_kind(p) != "what"]
            out.append((asking or parts)[-1])
        out.extend(p for p in parts if p.endswith("?") and len(p.split()) >= MIN_CLAUSE_WORDS)
    for part in list(out):
        clauses = split_questions(part)
        if len(clauses) > 1 and all(len(c.split()) >= MIN_CLAUSE_WORDS for c in clauses):
            out.extend(clauses)
    return list(dict.fromkeys(s for s in out if s))[:MAX_SEGMENTS]


MAX_RELATED = 32
"""Each fact keeps this many others for "tell me more", nearest first: all of them in a
small knowledge base, and in a large one a bounded list (every pair would be quadratic:
7,700 facts took minutes and gigabytes)."""


RARE_WORD = 64
"""Without a meaning model, facts are near by shared words, found through words that at
most this many facts' answers and quotes use (every word, in a knowledge base this small)."""


def _relations(kb: KnowledgeBase, space: _Space | None) -> dict[str, tuple[str, ...]]:
    """Each fact's :data:`MAX_RELATED` nearest others: those proved by the same sentence,
    then by the meaning of what they state (without a meaning model: the share of words
    their answers and quotes have in common), ties in the article's order."""
    facts = kb.facts
    count = len(facts)
    same_quote: dict[str, list[int]] = {}
    for i, fact in enumerate(facts):
        same_quote.setdefault(fact.quote, []).append(i)
    if space is not None:
        rows = space.space.matrix[space.statements]
        ends = [*space.statement_starts[1:].tolist(), len(rows)]
        centres = np.stack(
            [
                rows[a:b].mean(axis=0)
                for a, b in zip(space.statement_starts.tolist(), ends, strict=True)
            ]
        )
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)

        def nearness(i: int) -> dict[int, float]:
            row = centres @ centres[i]
            top = np.argpartition(-row, min(MAX_RELATED, count - 1))[: MAX_RELATED + 1]
            return {int(j): float(row[j]) for j in top}

    else:
        words = [
            {t for text in (f.answer, f.quote) for t in normalise(text)} - kb.stopwords
            for f in facts
        ]
        having: dict[str, list[int]] = {}
        for j, found in enumerate(words):
            for word in found:
                having.setdefault(word, []).append(j)

        def nearness(i: int) -> dict[int, float]:
            # Words most facts share say little of which are near, and gathering by them
            # would be every pair again: only the rarer ones gather candidates.
            found = {j for word in words[i] if len(having[word]) <= RARE_WORD for j in having[word]}
            return {j: len(words[i] & words[j]) / (len(words[i] | words[j]) or 1) for j in found}

    out = {}
    for i, fact in enumerate(facts):
        near = nearness(i)
        # The candidates: the same sentence's facts, the nearest, and the closest in the
        # article (the order among the facts nothing else tells apart).
        around = range(max(0, i - MAX_RELATED), min(count, i + MAX_RELATED + 1))
        candidates = {*same_quote[fact.quote], *near, *around} - {i}
        ranked = sorted(
            candidates, key=lambda j: (facts[j].quote != fact.quote, -near.get(j, 0.0), abs(i - j))
        )
        out[fact.id] = tuple(facts[j].id for j in ranked[:MAX_RELATED])
    return out


def _build_space(kb: KnowledgeBase, meaning: Meaning) -> _Space:
    texts: list[str] = []
    owners: list[int] = []
    starts: list[int] = []
    for index, fact in enumerate(kb.facts):
        starts.append(len(texts))
        own = list(dict.fromkeys((*fact.questions, *fact.keywords)))
        texts.extend(own)
        owners.extend([index] * len(own))
    first_negative = len(texts)
    texts.extend(kb.unanswerable)
    owners.extend([_NEGATIVE] * len(kb.unanswerable))
    first_chat = len(texts)
    intents = tuple(kb.chit_chat)
    for number, intent in enumerate(intents):
        texts.extend(kb.chit_chat[intent])
        owners.extend([_CHAT - number] * len(kb.chit_chat[intent]))
    first_statement = len(texts)
    statement_starts: list[int] = []
    for index, fact in enumerate(kb.facts):
        statement_starts.append(len(texts) - first_statement)
        said = list(dict.fromkeys((fact.answer, *fact.answers.values(), fact.quote)))
        texts.extend(said)
        owners.extend([index] * len(said))
    space = meaning.space(texts, owners)
    typical = []
    for index in range(len(kb.facts)):
        end = starts[index + 1] if index + 1 < len(starts) else first_negative
        rows = space.matrix[starts[index] : end]
        if len(rows) < 2:
            typical.append(1.0)
            continue
        sims = rows @ rows.T
        np.fill_diagonal(sims, -1.0)
        typical.append(float(np.percentile(sims.max(axis=1), 5)))
    return _Space(
        texts=tuple(texts),
        space=space,
        fact_starts=np.asarray(starts, dtype=np.int64),
        negatives=slice(first_negative, first_chat),
        chats=slice(first_chat, first_statement),
        statements=slice(first_statement, len(texts)),
        statement_starts=np.asarray(statement_starts, dtype=np.int64),
        intents=intents,
        typical=np.asarray(typical, dtype=np.float32),
        kinds=tuple(dict(kind_profile(f.questions)) for f in kb.facts),
        numbers=tuple(frozenset(n for t in _texts_of(f) for n in numbers_in(t)) for f in kb.facts),
        scopes=tuple(frozenset(w for t in _texts_of(f) for w in scope_words(t)) for f in kb.facts),
        asked=tuple(frozenset(question_kind(q) for q in f.questions) for f in kb.facts),
    )


@dataclass(frozen=True)
class Engine:
    """A knowledge base with its lexical index, meaning space and rule: what reload swaps."""

    kb: KnowledgeBase
    index: Index
    rule: Rule | None = None
    meaning: Meaning | None = None
    _space: _Space | None = field(default=None, repr=False)
    _related: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        kb: KnowledgeBase,
        settings: MatchSettings | None = None,
        *,
        rule: Rule | Literal["file"] | None = "file",
        meaning: Meaning | Literal["auto"] | None = "auto",
    ) -> Engine:
        """Index ``kb``; by default with the decision file and vector file beside its file."""
        folder = Path(kb.path).parent if kb.path and kb.path != "<memory>" else None
        if rule == "file":
            try:
                rule = read_rule(folder / "decision.yaml") if folder is not None else None
            except RuleError as exc:
                # A knowledge error, so every caller (check, run, reload) refuses it the same way
                # and a reload keeps the engine it has.
                where = str(folder / "decision.yaml") if folder is not None else "decision.yaml"
                message = str(exc).removeprefix(f"{where}: ")
                raise KnowledgeError([Problem(where, message)]) from None
        if meaning == "auto":
            meaning = (
                Meaning(shared_e5(), folder / "embeddings.npz" if folder is not None else None)
                if rule is not None
                else None
            )
        space = _build_space(kb, meaning) if meaning is not None and kb.facts else None
        return cls(kb, Index(kb, settings), rule, meaning, space, _relations(kb, space))

    def kinds_asked(self, fact: Fact) -> frozenset[str]:
        """The kinds of question (:mod:`bot.asks`) the fact's phrasings ask."""
        if self._space is not None:
            for index, known in enumerate(self.kb.facts):
                if known.id == fact.id:
                    return self._space.asked[index]
        return frozenset(question_kind(q) for q in fact.questions)

    def related(self, fact_id: str) -> tuple[Fact, ...]:
        """The other facts, nearest to ``fact_id`` first ("tell me more")."""
        return tuple(f for i in self._related.get(fact_id, ()) if (f := self.kb.fact(i)))

    # --- evidence -------------------------------------------------------------------------

    def evidence(
        self, question: str, lexical: Match | None = None
    ) -> tuple[Vectors, list[Candidate]]:
        """The whole message's similarity to every knowledge-base text, and every candidate
        fact for every part of ``question`` with its feature values (``fit_decision``)."""
        segments = _segments(question)
        matches = [lexical or self.index.match(question)]
        matches += [self.index.match(s) for s in segments[1:]]
        sims, found = self._evidence(segments, matches)
        return sims[0], found

    def _evidence(
        self, segments: Sequence[str], matches: Sequence[Match]
    ) -> tuple[list[Vectors], list[Candidate]]:
        """Each part's similarity to every text, and the candidates the parts and their
        matches give."""
        assert self.meaning is not None and self._space is not None
        # The model reads the words the asker meant: "breif" and "artcle" tokenise into
        # fragments it has no meaning for.
        respelled = [cut(self.index.lookup.speller.respell(s)) for s in segments]
        vectors = self.meaning.embedder.embed(respelled)
        sims = [self._space.space.similarities(vector) for vector in vectors]
        out: list[Candidate] = []
        for segment, match, part in zip(segments, matches, sims, strict=True):
            out.extend(self._candidates_of(segment, match, part))
        return sims, out

    def _candidates_of(self, segment: str, match: Match, sims: Vectors) -> list[Candidate]:
        sp = self._space
        assert sp is not None
        fact_sims = np.maximum.reduceat(sims[: sp.negatives.start], sp.fact_starts)
        lexical = {f.id: s / 100.0 for f, s in match.ranking}
        facts = self.kb.facts
        lex_order = [f for f, _ in match.ranking[:CANDIDATES]]
        sem_order = [facts[i] for i in np.argsort(-fact_sims)[:CANDIDATES]]
        nearest = sp.space.owners[np.argsort(-sims[: sp.statements.start])[:NEIGHBOURS]]
        said = np.maximum.reduceat(sims[sp.statements], sp.statement_starts)
        negative = (
            float(sims[sp.negatives].max()) if sp.negatives.stop > sp.negatives.start else 0.0
        )
        chat = float(sims[sp.chats].max()) if sp.chats.stop > sp.chats.start else 0.0
        kind = question_kind(segment)
        asked_numbers = numbers_in(segment)
        asked_scope = scope_words(segment)
        asked_years = _years(asked_numbers)
        asked_time = asked_scope & TIME_SCOPE
        position = {f.id: i for i, f in enumerate(facts)}
        out = []
        for fact_id in dict.fromkeys(f.id for f in [*lex_order, *sem_order]):
            i = position[fact_id]
            fact = facts[i]
            if kind in VETO_KINDS and kind not in sp.asked[i]:
                continue  # the fact's editors never asked it this: it does not state it
            if (asked_years - sp.numbers[i]) or (asked_time - sp.scopes[i]):
                # Another year ("trade in 2022?" of a 2021 figure) or another time ("who was
                # minister before her?") than the fact's texts ever speak of.
                continue
            lex = lexical.get(fact.id, 0.0)
            other_lex = max((v for k, v in lexical.items() if k != fact.id), default=0.0)
            sem = float(fact_sims[i])
            other_sem = float(np.max(np.delete(fact_sims, i))) if len(facts) > 1 else 0.0
            values = (
                float(match.fact is fact and match.verdict in (Verdict.ANSWER, Verdict.UNCERTAIN)),
                lex,
                lex - other_lex,
                float(bool(lex_order) and lex_order[0] is fact),
                sem,
                sem - other_sem,
                float(sem_order[0] is fact),
                sem - float(sp.typical[i]),
                float(np.mean(nearest == i)),
                match.negative / 100.0 - lex,
                negative - sem,
                chat - sem,
                sp.kinds[i][kind],
                float(said[i]),
                float(bool(asked_numbers - sp.numbers[i])),
                float(bool(asked_scope - sp.scopes[i])),
                float(kind != "what" and kind not in sp.asked[i]),
            )
            start = int(sp.fact_starts[i])
            end = int(sp.fact_starts[i + 1]) if i + 1 < len(facts) else sp.negatives.start
            phrasing = sp.texts[start + int(np.argmax(sims[start:end]))] if end > start else ""
            out.append(Candidate(fact, segment, values, phrasing=phrasing))
        return out

    # --- the decision ---------------------------------------------------------------------

    def match(self, question: str) -> Match:
        """Decide how to reply to ``question``, with the reasons in ``Match.why``."""
        lexical = self.index.match(question)
        rule = self.rule
        if rule is None or self.meaning is None or self._space is None:
            return replace(lexical, why=Why("lexical matcher only (no decision file)"))
        if lexical.verdict is Verdict.SMALLTALK:
            return replace(lexical, why=Why(f"small-talk phrase ({lexical.intent})"))
        segments = _segments(question)
        extra = [self.index.match(s) for s in segments[1:]]
        best_lexical = max(m.score for m in (lexical, *extra))
        if best_lexical < rule.consult_floor:
            # No fact is in question: only small talk is left to recognise, which needs the
            # message's vector but none of the candidates' features.
            sims = self._space.space.similarities(
                self.meaning.question(self.index.lookup.speller.respell(question))
            )
            talk = self._smalltalk(lexical, sims, Why("", segment=question))
            if talk is not None:
                return talk
            why = Why(
                f"no fact's words in the question (best lexical score {best_lexical:.0f} < "
                f"{rule.consult_floor:.0f}), and not small talk; no fact considered"
            )
            return Match(
                Verdict.NO_ANSWER, None, 0.0, 0.0, lexical.ranking, None, lexical.negative, why
            )
        parts, found = self._evidence(segments, [lexical, *extra])
        scored = sorted(
            (replace(c, probability=rule.probability(c.values)) for c in found),
            key=lambda c: -c.probability,
        )
        best = scored[0] if scored else None
        runner = next((c for c in scored if best is not None and c.fact is not best.fact), None)
        p = best.probability if best is not None else 0.0
        margin = 100.0 * (p - (runner.probability if runner is not None else 0.0))
        sp = self._space
        sims = parts[0]
        chat_row = (
            sp.chats.start + int(np.argmax(sims[sp.chats]))
            if sp.chats.stop > sp.chats.start
            else -1
        )
        chat_sim = float(sims[chat_row]) if chat_row >= 0 else 0.0
        neg_row = (
            sp.negatives.start + int(np.argmax(sims[sp.negatives]))
            if sp.negatives.stop > sp.negatives.start
            else -1
        )
        why = Why(
            "",
            consulted=True,
            segment=best.segment if best is not None else question,
            candidates=tuple(scored),
            negative=sp.texts[neg_row] if neg_row >= 0 else "",
            smalltalk=sp.texts[chat_row] if chat_row >= 0 else "",
            smalltalk_similarity=chat_sim,
        )
        if best is not None and p >= rule.uncertain_at:
            verdict = Verdict.ANSWER if p >= rule.answer_at else Verdict.UNCERTAIN
            reason = (
                f"{best.fact.id}: probability {p:.2f} >= "
                f"{rule.answer_at if verdict is Verdict.ANSWER else rule.uncertain_at:.2f}"
            )
            return _decided(verdict, best.fact, p, margin, lexical, replace(why, reason=reason))
        talk = self._smalltalk(lexical, sims, why)
        if talk is not None:
            return talk
        reason = (
            f"best candidate {best.fact.id} has probability {p:.2f} < {rule.uncertain_at:.2f}"
            if best is not None
            else "no candidate fact (a fact answers an outcome question only when one of its "
            "phrasings asks one)"
            if question_kind(why.segment) in VETO_KINDS
            else "no candidate fact (none speaks of the year or time the question asks about)"
            if _years(numbers_in(why.segment)) or scope_words(why.segment) & TIME_SCOPE
            else "no candidate fact"
        )
        return _decided(Verdict.NO_ANSWER, None, p, margin, lexical, replace(why, reason=reason))

    def _smalltalk(self, lexical: Match, sims: Vectors, why: Why) -> Match | None:
        """Small talk when the message is nearer in meaning to a small-talk phrase than to
        any fact's phrasing, and near enough (``smalltalk_at``)."""
        sp, rule = self._space, self.rule
        assert sp is not None and rule is not None
        if sp.chats.stop <= sp.chats.start:
            return None
        row = sp.chats.start + int(np.argmax(sims[sp.chats]))
        similarity = float(sims[row])
        fact_best = float(sims[: sp.negatives.start].max()) if sp.negatives.start else 0.0
        if similarity < rule.smalltalk_at or similarity < fact_best:
            return None
        intent = sp.intents[_CHAT - int(sp.space.owners[row])]
        reason = f"nearest in meaning to small talk ({intent}, {similarity:.3f})"
        return Match(
            Verdict.SMALLTALK,
            None,
            round(100 * similarity, 1),
            0.0,
            lexical.ranking,
            intent,
            lexical.negative,
            replace(
                why,
                reason=reason,
                consulted=True,
                smalltalk=sp.texts[row],
                smalltalk_similarity=similarity,
            ),
        )

    def explain(self, question: str) -> str:
        """The decision and its reasons, as lines a person reads (``python -m bot explain``)."""
        return explain_text(self, question, self.match(question))


def _decided(
    verdict: Verdict, fact: Fact | None, p: float, margin: float, lexical: Match, why: Why
) -> Match:
    """The rule's decision as a :class:`Match`: score is the probability in points."""
    return Match(
        verdict,
        fact,
        round(100 * p, 1),
        round(margin, 1),
        lexical.ranking,
        None,
        lexical.negative,
        why,
    )


def explain_text(engine: Engine, question: str, match: Match) -> str:
    """Readable lines for ``match``: verdict, reason, lexical words, candidates and features."""
    lines = [f"question: {question}"]
    got = match.fact.id if match.fact else (match.intent or "-")
    lines.append(
        f"verdict: {match.verdict.value} {got}  score {match.score:.1f}  margin {match.margin:.1f}"
    )
    why = match.why
    if why is not None:
        lines.append(f"why: {why.reason}")
        if why.segment and why.segment != question:
            lines.append(f"judged on the message's last question: {why.segment!r}")
    lines.append(
        "lexical: " + (", ".join(f"{f.id} {s:.0f}" for f, s in match.ranking[:5]) or "no fact")
    )
    lines.extend("  " + line for line in engine.index.explain_words(question, match.fact))
    if match.negative:
        lines.append(f"  best negative example (lexical): {match.negative:.0f}")
    if why is not None and why.consulted and engine.rule is not None:
        rule = engine.rule
        lines.append(
            f"meaning: nearest negative example {why.negative!r}; nearest small talk "
            f"{why.smalltalk!r} ({why.smalltalk_similarity:.3f})"
        )
        for c in why.candidates[:4]:
            lines.append(
                f"candidate {c.fact.id}: probability {c.probability:.3f}  "
                f"(nearest phrasing {c.phrasing!r})"
            )
            terms = rule.terms(c.values)
            cells = [
                f"{n}={v:.3f} ({t:+.2f})" for n, v, t in zip(NAMES, c.values, terms, strict=True)
            ]
            for start in range(0, len(cells), 4):
                lines.append("    " + "  ".join(cells[start : start + 4]))
        lines.append(
            f"rule: answer at p >= {rule.answer_at:.2f}, with suggestions at p >= "
            f"{rule.uncertain_at:.2f}; bias {rule.bias:+.2f}"
        )
    return "\n".join(lines)


__all__ = ["Candidate", "Engine", "Why", "explain_text"]


def describe_candidates(candidates: Sequence[Candidate]) -> list[dict[str, object]]:
    """Candidates as JSON-ready objects (``ask --json``'s ``why.candidates``)."""
    return [
        {
            "fact_id": c.fact.id,
            "probability": round(c.probability, 4),
            "segment": c.segment,
            "phrasing": c.phrasing,
            "features": {n: round(v, 4) for n, v in zip(NAMES, c.values, strict=True)},
        }
        for c in candidates
    ]
