"""Loading and validating the knowledge base (``facts.yaml`` checked against the article).

The facts file holds what is the article's (facts, near misses, the source); the vocabulary
shared by every fact (aliases, stopwords, small talk) lives in per-language lexicon files
that the facts file lists under ``lexicon:`` and that are merged into one knowledge base.

A knowledge base is built completely and validated before anything sees it; a file with any
problem is refused as a whole with :class:`KnowledgeError`, listing every problem found.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from bot import safe_yaml
from bot.language import LANGUAGES as LANGUAGE_CODES
from bot.language import detect_language
from bot.normalise import MIN_STEM, fold, tokenize
from bot.safe_yaml import shown

MAX_FILE_BYTES = 1_048_576
"""A knowledge file larger than this is refused before it is parsed."""
MAX_ARTICLE_BYTES = 1_048_576
MAX_YAML_NODES = 200_000
MAX_FACTS = 2_000
MAX_QUESTIONS_PER_FACT = 200
MAX_PHRASING_CHARS = 300
MAX_ANSWER_CHARS = 200
MAX_QUOTE_CHARS = 1_000
MAX_LABEL_CHARS = 48
"""A suggestion button's label: phones show about this much of a one-button row."""
MIN_PHRASINGS = 5
"""Fewer phrasings than this and a fact is rarely found by wordings nobody wrote (a warning)."""
MIN_QUOTE_WORDS = 3
"""A quote shorter than this proves nothing ("the"), unless it is a whole line (a byline)."""
NEAREST_QUOTE_SCORE = 75
"""A refused quote is shown beside the article text it resembles this much (rapidfuzz's
partial ratio, 0-100); below it the "nearest" text is noise (made-up quotes score 50-65)."""
MAX_PROBLEMS = 100
"""Problems listed for one file at most; the rest are counted in one last line."""
INTENTS = ("greeting", "thanks", "help", "goodbye", "about", "ack", "self", "chatter")
"""Small-talk intents the ``chit_chat`` section may list phrasings for."""
LANGUAGES = frozenset(LANGUAGE_CODES)
"""Language codes a fact's per-language ``answers`` and ``labels`` may use."""

_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
_NUMBER_WORDS = frozenset(  # a word list reads better than 31 quoted strings
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
    ninety hundred thousand and""".split()  # noqa: SIM905
)
_ID = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_TOP_LEVEL = {
    "version": False,
    "source": False,
    "lexicon": False,
    "aliases": False,
    "stopwords": False,
    "chit_chat": False,
    "relative_years": False,
    "unanswerable": False,
    "examples": False,
    "people": False,
    "facts": True,
}
PRONOUN_GROUPS = ("he", "she")
"""What ``people:`` may say a person is referred to by (:mod:`bot.conversation`)."""
_LEXICON_TOP_LEVEL = {
    "version": False,
    "language": True,
    "aliases": False,
    "stopwords": False,
    "chit_chat": False,
    "relative_years": False,
}
MAX_LEXICON_FILES = 16
LexiconReader = Callable[[str], tuple[str, str]]
"""Reads a lexicon file named in the facts file: (its name for messages, its text)."""
_FACT_FIELDS = {
    "id": True,
    "questions": True,
    "answer": True,
    "quote": True,
    "keywords": False,
    "answers": False,
    "labels": False,
}
_SOURCE_FIELDS = {"title": True, "outlet": True, "author": True, "date": True, "url": False}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a knowledge file, located as precisely as possible."""

    file: str
    message: str
    line: int | None = None
    fact_id: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        who = f" fact '{self.fact_id}':" if self.fact_id else ""
        return f"{where}:{who} {self.message}"


class KnowledgeError(Exception):
    """The knowledge file (or the article) cannot be used; ``problems`` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class Source:
    """Where the article comes from."""

    title: str
    outlet: str
    author: str
    date: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Fact:
    """One fact of the article: how people ask for it, the answer, and the proving quote."""

    id: str
    questions: tuple[str, ...]
    answer: str
    quote: str
    keywords: tuple[str, ...] = ()
    answers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    written_labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """The ``labels:`` the file gives, per language: what a suggestion button says."""
    labels: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Guessing a phrasing's language costs a millisecond per fact; suggestion labels are
        # on every "doesn't say" reply, so the first phrasing of each language is found once.
        labels: dict[str, str] = {}
        for question in reversed(self.questions):
            language = detect_language(question)
            if language is not None:
                labels[language] = question
        labels.update(self.written_labels)
        object.__setattr__(self, "labels", MappingProxyType(labels))

    def answer_in(self, language: str) -> str:
        """The answer in ``language`` when written, else the default (English) one."""
        return self.answers.get(language, self.answer)

    def question_in(self, language: str) -> str:
        """The label written for ``language``, else the first phrasing in it, else the
        English label, else the first phrasing."""
        english = self.written_labels.get("en", self.questions[0])
        return english if language == "en" else self.labels.get(language, english)


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """An immutable, validated knowledge base."""

    source: Source
    facts: tuple[Fact, ...]
    article: str
    aliases: Mapping[str, tuple[str, ...]]
    stopwords: frozenset[str]
    chit_chat: Mapping[str, tuple[str, ...]]
    unanswerable: tuple[str, ...]
    examples: tuple[str, ...]
    path: str = "<memory>"
    digest: str = ""
    lexicon_paths: tuple[str, ...] = ()
    people: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Person named in the article -> the pronoun group ("he", "she") that refers to them."""
    warnings: tuple[Problem, ...] = ()
    """What is legal but likely wrong (``check`` prints these and still exits 0)."""

    def fact(self, fact_id: str) -> Fact | None:
        """The fact with this id, or ``None``."""
        for fact in self.facts:
            if fact.id == fact_id:
                return fact
        return None

    @property
    def example_facts(self) -> tuple[Fact, ...]:
        """The facts named in ``examples``, in order: what /start and suggestions offer."""
        found = (self.fact(fact_id) for fact_id in self.examples)
        return tuple(fact for fact in found if fact is not None)

    @property
    def phrasing_count(self) -> int:
        """How many question phrasings the facts carry in all."""
        return sum(len(f.questions) for f in self.facts)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _occurs(needle: str, haystack: str) -> tuple[bool, bool]:
    """Whether ``needle`` is in ``haystack`` at all, and whether as whole words somewhere.

    Whole words: a letter or digit at either end of the needle must not continue a word of
    the haystack ("e" in "the", "rbaij" in "Azerbaijan" do).
    """
    start = haystack.find(needle)
    found = start >= 0
    if not needle:
        return found, False
    head, tail = needle[0].isalnum(), needle[-1].isalnum()
    while start >= 0:
        end = start + len(needle)
        if not (head and start > 0 and haystack[start - 1].isalnum()) and not (
            tail and end < len(haystack) and haystack[end].isalnum()
        ):
            return True, True
        start = haystack.find(needle, start + 1)
    return found, False


_FACT_START = re.compile(r"^\s*-\s+id:\s*[\"']?([A-Za-z0-9_-]+)")
_TOP_KEY = re.compile(r"^[^\s#-]")


def _fact_around(text: str, line: int | None) -> str | None:
    """The id of the fact whose lines hold ``line`` (1-based), read off the raw text.

    For a file YAML cannot parse there is no tree to ask; the nearest ``- id:`` above the
    line still names the fact an editor has to open.
    """
    if not text or line is None:
        return None
    lines = text.splitlines()
    for number in range(min(line, len(lines)) - 1, -1, -1):
        found = _FACT_START.match(lines[number])
        if found is not None:
            return found[1]
        if _TOP_KEY.match(lines[number]):
            return None  # a top-level key (facts:, examples:) above any fact
    return None


def _refused(error: safe_yaml.YAMLFileError, name: str, text: str = "") -> KnowledgeError:
    return KnowledgeError(
        [
            Problem(name, issue.message, issue.line, _fact_around(text, issue.line))
            for issue in error.issues
        ]
    )


def _read_bytes(path: Path, limit: int, what: str) -> bytes:
    try:
        return safe_yaml.read_limited(path, limit, what)
    except safe_yaml.YAMLFileError as exc:
        raise _refused(exc, str(path)) from None


def _decode(data: bytes, name: str, what: str) -> str:
    try:
        return safe_yaml.decode(data, what)
    except safe_yaml.YAMLFileError as exc:
        raise _refused(exc, name) from None


def load_article(path: Path) -> str:
    """Read the article text, refusing a missing, unreadable, empty or oversized file."""
    text = _decode(_read_bytes(path, MAX_ARTICLE_BYTES, "article"), str(path), "article")
    if not text.strip():
        raise KnowledgeError([Problem(str(path), "article is empty")])
    return text


def _line_of(mapping_node: yaml.Node, key: str) -> int:
    value = _child(mapping_node, key)
    return int((value or mapping_node).start_mark.line) + 1


def _folded(node: yaml.Node | None) -> bool:
    """Whether ``node`` is unquoted text that YAML folded together from several lines.

    That is legal (a dumper wraps long lines so), and a mistake when a line in it begins
    with "- ": a new item indented too far."""
    return (
        isinstance(node, yaml.ScalarNode)
        and not node.style  # plain: None, or "" from libyaml
        and node.end_mark.line > node.start_mark.line
    )


def _quoted_item(item: dict[Any, Any]) -> str:
    """The one-field mapping YAML made of ``- a: b`` written back as the quoted item."""
    ((key, value),) = item.items()
    text = f"{key}: {value}" if value is not None else f"{key}:"
    return "- " + safe_yaml.double_quoted(text)


def _child(mapping_node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node of ``key`` in a mapping node, if there is one."""
    if isinstance(mapping_node, yaml.MappingNode):
        for k, v in mapping_node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
                return v
    return None


def _type_name(value: object) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a mapping",
        type(None): "empty",
    }.get(type(value), type(value).__name__)


class _Validator:
    """Collects every problem in one pass so an editor can fix them all at once."""

    def __init__(self, name: str, article: str) -> None:
        self.name = name
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.found = 0
        self.article_squashed = _squash(article)
        self.article_lines = frozenset(_squash(line) for line in article.splitlines())
        self.headline: str | None = None
        """The source's title: not in the article's text, yet the proof of what it is."""

    def add(self, message: str, line: int | None = None, fact_id: str | None = None) -> None:
        self.found += 1
        # A file of a hundred thousand bad items would otherwise list them all (and take
        # most of the load time building the list); the first ones are what an editor needs.
        if self.found <= MAX_PROBLEMS:
            self.problems.append(Problem(self.name, message, line, fact_id))

    def warn(self, message: str, line: int | None = None, fact_id: str | None = None) -> None:
        if len(self.warnings) < MAX_PROBLEMS:
            self.warnings.append(Problem(self.name, message, line, fact_id))

    def listed(self) -> list[Problem]:
        """The problems kept, and a last line counting those left out."""
        left_out = self.found - len(self.problems)
        if left_out <= 0:
            return self.problems
        return [*self.problems, Problem(self.name, f"and {left_out:,} more problems")]

    def text(
        self, value: object, what: str, line: int, fact_id: str | None = None, limit: int = 0
    ) -> str | None:
        if not isinstance(value, str):
            self.add(f"{what} must be a string, not {_type_name(value)}", line, fact_id)
            return None
        if not value.strip():
            self.add(f"{what} is empty", line, fact_id)
            return None
        if limit and len(value) > limit:
            self.add(f"{what} is {len(value)} characters; at most {limit}", line, fact_id)
            return None
        return value.strip()

    def text_list(
        self,
        value: object,
        what: str,
        line: int,
        fact_id: str | None = None,
        node: yaml.Node | None = None,
    ) -> tuple[str, ...]:
        """The texts of a list, each checked; ``node`` (the list's) gives each item's line."""
        if not isinstance(value, list):
            self.add(f"{what} must be a list of strings, not {_type_name(value)}", line, fact_id)
            return ()
        items = node.value if isinstance(node, yaml.SequenceNode) else []
        out: list[str] = []
        seen: set[str] = set()
        for index, item in enumerate(value, 1):
            item_node = items[index - 1] if len(items) == len(value) else None
            at = line if item_node is None else int(item_node.start_mark.line) + 1
            if isinstance(item, dict) and len(item) == 1:
                # "- Who said: hello?" is a one-field mapping to YAML, not the text written.
                self.add(
                    f"{what} #{index} was read as 'key: value' because of a colon followed "
                    f"by a space; put the text in quotes: {_quoted_item(item)}",
                    at,
                    fact_id,
                )
                continue
            text = self.text(item, f"{what} #{index}", at, fact_id, MAX_PHRASING_CHARS)
            if text is None:
                continue
            if _folded(item_node) and " - " in text:
                assert item_node is not None
                last = int(item_node.end_mark.line) + 1
                # A line indented deeper than its item continues it; "- a" under "- b"
                # indented two spaces too far becomes the one text "b - a".
                self.add(
                    f"{what} #{index} runs over lines {at}-{last}, and YAML joins them into "
                    f"one text: {text!r}. A new item starts its '-' in the same column as "
                    f"the one above; one long text goes on one line or in quotes",
                    at,
                    fact_id,
                )
                continue
            key = _alias_key(text)
            if not key.rstrip("*"):
                self.add(f"{what} #{index} has no words: {text!r}", at, fact_id)
                continue
            if key in seen:
                self.add(f"{what} #{index} repeats an earlier one: {text!r}", at, fact_id)
                continue
            seen.add(key)
            out.append(text)
        return tuple(out)

    def fields(
        self,
        value: dict[str, Any],
        allowed: dict[str, bool],
        what: str,
        line: int,
        fact_id: str | None = None,
    ) -> None:
        for key in value:
            if key not in allowed:
                known = ", ".join(allowed)
                self.add(f"unknown field '{key}' in {what} (known: {known})", line, fact_id)
        for key, required in allowed.items():
            if required and key not in value:
                self.add(f"missing field '{key}' in {what}", line, fact_id)

    def quote(self, quote: str, line: int, fact_id: str) -> None:
        if len(quote) > MAX_QUOTE_CHARS:
            self.add(f"quote is longer than {MAX_QUOTE_CHARS} characters", line, fact_id)
            return
        squashed = _squash(quote)
        if squashed == self.headline:
            return  # "what is the article's title?" is proved by the title, quoted whole
        found, whole = _occurs(squashed, self.article_squashed)
        if not found:
            message = f"quote is not in the article word for word: {quote!r}"
            self.add(f"{message}; {_quote_hint(squashed, self.article_squashed)}", line, fact_id)
        elif squashed in self.article_lines:
            pass  # a whole line of the article, however short: the byline, the date line
        elif not whole:
            # "rbaij" is in "Azerbaijan": text of the article, but no proof of anything.
            self.add(
                f"quote must be whole words of the article, not begin or end inside a word: "
                f"{quote!r}",
                line,
                fact_id,
            )
        else:
            words = sum(1 for word in squashed.split() if any(c.isalnum() for c in word))
            if words < MIN_QUOTE_WORDS:
                self.add(
                    f"quote is {words} word(s) long; it must be at least {MIN_QUOTE_WORDS} "
                    f"words of the article, or a whole line of it: {quote!r}",
                    line,
                    fact_id,
                )


_CYRILLIC_LOOK_ALIKES = {
    "SMALL": {"A": "a", "IE": "e", "O": "o", "ER": "p", "ES": "c", "U": "y", "HA": "x"},
    "CAPITAL": {"A": "A", "VE": "B", "IE": "E", "KA": "K", "EM": "M", "EN": "H", "O": "O"}
    | {"ER": "P", "ES": "C", "TE": "T", "HA": "X", "BYELORUSSIAN-UKRAINIAN I": "I"},
}
_LOOK_ALIKES = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u02bc\u02b9`\u00b4\u2032", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u00a0\u2009\u202f", " "),
        # Cyrillic letters that look Latin (a Russian keyboard layout left on).
        **{
            unicodedata.lookup(f"CYRILLIC {case} LETTER {name}"): latin
            for case, pairs in _CYRILLIC_LOOK_ALIKES.items()
            for name, latin in pairs.items()
        },
    }
)
"""Characters an editor types for others that look the same: each maps to one character, so
positions in the folded text are positions in the original."""


def _named(char: str) -> str:
    return f"{char} (U+{ord(char):04X} {unicodedata.name(char, 'unnamed')})"


def _quote_hint(quote: str, article: str) -> str:
    """Why a quote (whitespace squashed) is not in the article (squashed): look-alike
    characters, or the nearest article text and a character-level diff against it."""
    folded_article = article.translate(_LOOK_ALIKES)
    at = folded_article.find(quote.translate(_LOOK_ALIKES))
    if at >= 0:
        original = article[at : at + len(quote)]
        swaps = dict.fromkeys(
            f"{_named(mine)} where the article has {_named(theirs)}"
            for mine, theirs in zip(quote, original, strict=True)
            if mine != theirs
        )
        return (
            "it differs only in look-alike characters: "
            + "; ".join(swaps)
            + f". Copy it from the article: {original!r}"
        )
    from rapidfuzz import fuzz  # only a refused quote needs it

    alignment = fuzz.partial_ratio_alignment(quote, article)
    if alignment is None or alignment.score < NEAREST_QUOTE_SCORE:
        return "nothing in the article is close to it; copy quotes from the article file"
    start, end = alignment.dest_start, alignment.dest_end
    # Widen to whole words, so the diff does not begin or end inside one.
    while start > 0 and article[start - 1].isalnum():
        start -= 1
    while end < len(article) and article[end].isalnum():
        end += 1
    nearest = article[start:end]
    return f"the nearest article text is {nearest!r}; {_diff(nearest, quote)}"


def _diff(article_text: str, quote: str) -> str:
    """A character-level diff: ``[-article-]{+quote+}`` where they differ."""
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, article_text, quote, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            out.append(article_text[a1:a2])
            continue
        if a2 > a1:
            out.append(f"[-{article_text[a1:a2]}-]")
        if b2 > b1:
            out.append(f"{{+{quote[b1:b2]}+}}")
    return "the differences ([-article-] {+yours+}): " + "".join(out)


def _parse_source(v: _Validator, value: object, line: int) -> Source | None:
    if not isinstance(value, dict):
        v.add(f"'source' must be a mapping, not {_type_name(value)}", line)
        return None
    v.fields(value, _SOURCE_FIELDS, "source", line)
    parts: dict[str, str | None] = {}
    for key in _SOURCE_FIELDS:
        raw = value.get(key)
        if key == "url" and raw is None:
            parts[key] = None
            continue
        if key not in value:
            return None
        # Dates written unquoted in YAML arrive as datetime.date; accept them as text.
        if key == "date" and raw is not None and not isinstance(raw, str):
            raw = str(raw)
        parts[key] = v.text(raw, f"source.{key}", line)
    if any(parts[k] is None for k in ("title", "outlet", "author", "date")):
        return None
    return Source(
        title=str(parts["title"]),
        outlet=str(parts["outlet"]),
        author=str(parts["author"]),
        date=str(parts["date"]),
        url=parts["url"],
    )


def _words_key(text: str) -> str:
    """``text`` as matching sees it (folded words): two texts with one key are one text."""
    return " ".join(tokenize(fold(text)))


def _alias_key(item: str) -> str:
    """A variant's key: a stem ("veteran*") and the plain word ("veteran") differ."""
    return _words_key(item) + ("*" if item.endswith("*") else "")


def _canonicals(sections: Sequence[object]) -> dict[str, str]:
    """Every canonical word of every aliases section, by its normalised form."""
    return {
        _words_key(c): c
        for section in sections
        if isinstance(section, dict)
        for c in section
        if isinstance(c, str)
    }


def _parse_aliases(
    v: _Validator,
    value: object,
    line: int,
    out: dict[str, tuple[str, ...]],
    owner: dict[str, str],
    canonicals: Mapping[str, str],
    node: yaml.Node | None = None,
    relative: bool = False,
) -> None:
    """Add one aliases section to ``out``; ``owner`` spans every file, so a variant listed
    under two canonical words in two languages' files is found too."""
    if not isinstance(value, dict):
        v.add(f"'aliases' must be a mapping of word: [variants], not {_type_name(value)}", line)
        return
    # Aliases are applied in one pass, so a variant that is itself another canonical word
    # (turkey: [turkiye] beside turkiye: [turkey]) would make the two sides never meet.
    for canonical, variants in value.items():
        if not isinstance(canonical, str) or not tokenize(fold(canonical)):
            v.add(f"alias key {shown(canonical)} must be a word", line)
            continue
        group = _child(node, canonical)
        if group is not None:
            line = int(group.start_mark.line) + 1
        items = v.text_list(variants, f"aliases.{canonical}", line, None, group)
        for item in items:
            if item.endswith("*") and (
                len(tokenize(fold(item[:-1]))) != 1 or len(fold(item[:-1]).strip()) < MIN_STEM
            ):
                v.add(
                    f"alias stem {item!r} under '{canonical}' must be one word of at least "
                    f"{MIN_STEM} letters before the *",
                    line,
                )
            key = _alias_key(item)
            if key in owner and owner[key] != canonical:
                v.add(
                    f"alias variant {item!r} is listed under both '{owner[key]}' and '{canonical}'",
                    line,
                )
            owner[key] = canonical
            other = canonicals.get(key, canonical)
            if other != canonical:
                v.add(
                    f"alias variant {item!r} of '{canonical}' is itself the canonical word "
                    f"'{other}'; aliases do not chain",
                    line,
                )
        out[canonical] = out.get(canonical, ()) + items
        worded = [
            item
            for item in items
            if not any(c.isdigit() for c in item)
            and not set(tokenize(fold(item))) <= _NUMBER_WORDS  # "twenty twenty one" spells it
        ]
        if _YEAR.fullmatch(canonical) and worded and not relative:
            shown_items = ", ".join(repr(item) for item in worded[:4])
            more = f" and {len(worded) - 4} more" if len(worded) > 4 else ""
            v.warn(
                f"aliases.{canonical} reads {shown_items}{more} as the year {canonical}: "
                "a time relative to today ('last year') belongs under relative_years:, "
                "which reads it from the article's date; check each",
                line,
            )


def _parse_fact(v: _Validator, node: yaml.Node, value: object, index: int) -> Fact | None:
    line = int(node.start_mark.line) + 1
    if not isinstance(value, dict):
        v.add(f"facts #{index} must be a mapping with id, questions, answer, quote", line)
        return None
    raw_id = value.get("id")
    fact_id = raw_id if isinstance(raw_id, str) else None
    v.fields(value, _FACT_FIELDS, f"facts #{index}", line, fact_id)
    if "id" in value and (not isinstance(raw_id, str) or not _ID.match(raw_id)):
        v.add(
            f"facts #{index}: id {shown(raw_id)} must be a slug (lower-case letters, digits, _)",
            _line_of(node, "id"),
        )
        fact_id = None
    before = v.found
    questions = (
        v.text_list(
            value["questions"],
            "questions",
            _line_of(node, "questions"),
            fact_id,
            _child(node, "questions"),
        )
        if "questions" in value
        else ()
    )
    if "questions" in value and isinstance(value["questions"], list):
        if not value["questions"]:
            v.add("questions is an empty list", _line_of(node, "questions"), fact_id)
        elif len(value["questions"]) > MAX_QUESTIONS_PER_FACT:
            at = _line_of(node, "questions")
            v.add(f"more than {MAX_QUESTIONS_PER_FACT} questions", at, fact_id)
    keywords = (
        v.text_list(
            value["keywords"],
            "keywords",
            _line_of(node, "keywords"),
            fact_id,
            _child(node, "keywords"),
        )
        if value.get("keywords") is not None
        else ()
    )
    answer = (
        v.text(value["answer"], "answer", _line_of(node, "answer"), fact_id, MAX_ANSWER_CHARS)
        if "answer" in value
        else None
    )
    quote = None
    if "quote" in value:
        quote = v.text(value["quote"], "quote", _line_of(node, "quote"), fact_id)
        if quote is not None:
            v.quote(quote, _line_of(node, "quote"), fact_id or f"#{index}")
    answers = _per_language(
        v, value.get("answers"), "answers", _line_of(node, "answers"), fact_id, MAX_ANSWER_CHARS
    )
    labels = _parse_labels(v, value.get("labels"), _line_of(node, "labels"), fact_id)
    if v.found != before or fact_id is None or answer is None or quote is None:
        return None
    english = labels.get("en", questions[0] if questions else "")
    where = "labels.en" if "en" in labels else "the first phrasing (its English label)"
    at = _line_of(node, "labels" if "en" in labels else "questions")
    if english and (not english.endswith("?") or detect_language(english) not in ("en", None)):
        v.add(f"{where} must be an English question, ending with '?': {english!r}", at, fact_id)
        return None
    if english and not english[:1].isupper():
        v.warn(
            f"{where} starts with a small letter, and a button shows it so: {english!r}",
            at,
            fact_id,
        )
    if len(questions) < MIN_PHRASINGS:
        v.warn(
            f"{len(questions)} phrasing(s); with fewer than {MIN_PHRASINGS}, other wordings "
            "of the question are rarely matched",
            _line_of(node, "questions"),
            fact_id,
        )
    missing = sorted(LANGUAGES - set(labels) - {"en"})
    if labels and missing:
        v.warn(f"labels: none for {', '.join(missing)}", _line_of(node, "labels"), fact_id)
    return Fact(
        id=fact_id,
        questions=questions,
        answer=answer,
        quote=quote,
        keywords=keywords,
        answers=MappingProxyType(answers),
        written_labels=MappingProxyType(labels),
    )


def _per_language(
    v: _Validator, raw: object, what: str, line: int, fact_id: str | None, limit: int
) -> dict[str, str]:
    """``what: {tr: ..., ru: ...}`` (answers, labels): known language codes, each a text."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        v.add(f"{what} must be a mapping of language: text, not {_type_name(raw)}", line, fact_id)
        return {}
    out: dict[str, str] = {}
    for language, text in raw.items():
        if language not in LANGUAGES:
            known = ", ".join(sorted(LANGUAGES))
            message = f"{what}: unknown language code {shown(language)} (known: {known})"
            v.add(message, line, fact_id)
            continue
        checked = v.text(text, f"{what}.{language}", line, fact_id, limit)
        if checked is not None:
            out[str(language)] = checked
    return out


def _parse_labels(v: _Validator, raw: object, line: int, fact_id: str | None) -> dict[str, str]:
    """``labels: {en: ..., tr: ...}``: each short, and in the language it is filed under."""
    out: dict[str, str] = {}
    for language, label in _per_language(v, raw, "labels", line, fact_id, MAX_LABEL_CHARS).items():
        read_as = detect_language(label)
        if read_as is not None and read_as != language:
            v.add(f"labels.{language} reads as {read_as}: {label!r}", line, fact_id)
            continue
        out[language] = label
    return out


class _Vocabulary:
    """The shared vocabulary, merged from the facts file and every lexicon file."""

    def __init__(self, canonicals: Mapping[str, str], year: int | None) -> None:
        self.canonicals = canonicals
        self.year = year  # the article's, for relative_years
        self.aliases: dict[str, tuple[str, ...]] = {}
        self.owner: dict[str, str] = {}
        self.stopwords: set[str] = set()
        self.chit_chat: dict[str, tuple[str, ...]] = {}

    def add(self, v: _Validator, data: dict[str, Any], root: yaml.Node) -> None:
        """Validate and merge one file's ``aliases``, ``stopwords`` and ``chit_chat``."""
        if data.get("aliases") is not None:
            at = _line_of(root, "aliases")
            _parse_aliases(
                v,
                data["aliases"],
                at,
                self.aliases,
                self.owner,
                self.canonicals,
                _child(root, "aliases"),
            )
        if data.get("relative_years") is not None:
            self._relative_years(v, data["relative_years"], root)
        if data.get("stopwords") is not None:
            at = _line_of(root, "stopwords")
            words = v.text_list(data["stopwords"], "stopwords", at, None, _child(root, "stopwords"))
            self.stopwords.update(t for w in words for t in tokenize(fold(w)))
        if data.get("chit_chat") is None:
            return
        self._chit_chat(v, data["chit_chat"], root)

    def _relative_years(self, v: _Validator, raw: object, root: yaml.Node) -> None:
        """``relative_years: {-1: [last year]}``: aliases of the year that many years from
        the article's, so "last year" means the same year in every language."""
        at = _line_of(root, "relative_years")
        if not isinstance(raw, dict):
            v.add(
                f"'relative_years' must be a mapping of offset: [phrases], not {_type_name(raw)}",
                at,
            )
            return
        if self.year is None:
            v.add("relative_years needs source.date to begin with the article's year", at)
            return
        resolved: dict[str, object] = {}
        for offset, phrases in raw.items():
            if not isinstance(offset, int) or isinstance(offset, bool) or abs(offset) > 50:
                v.add(
                    f"relative_years: {shown(offset)} must be a whole number of years, -50 to 50",
                    at,
                )
                continue
            resolved[str(self.year + offset)] = phrases
        _parse_aliases(v, resolved, at, self.aliases, self.owner, self.canonicals, relative=True)

    def _chit_chat(self, v: _Validator, raw: object, root: yaml.Node) -> None:
        at = _line_of(root, "chit_chat")
        if not isinstance(raw, dict):
            what = _type_name(raw)
            v.add(f"'chit_chat' must be a mapping of intent: [phrasings], not {what}", at)
            return
        for intent, phrasings in raw.items():
            if intent not in INTENTS:
                v.add(
                    f"chit_chat: unknown intent {shown(intent)} (known: {', '.join(INTENTS)})",
                    at,
                )
                continue
            group = _child(_child(root, "chit_chat"), str(intent))
            where = at if group is None else int(group.start_mark.line) + 1
            listed = v.text_list(phrasings, f"chit_chat.{intent}", where, None, group)
            self.chit_chat[intent] = self.chit_chat.get(intent, ()) + listed


def _read_lexicons(
    v: _Validator,
    data: dict[str, Any],
    root: yaml.Node,
    article: str,
    read: LexiconReader | None,
) -> list[tuple[_Validator, dict[str, Any], yaml.Node]]:
    """Parse every lexicon file the facts file lists; problems name the lexicon file."""
    if data.get("lexicon") is None:
        return []
    at = _line_of(root, "lexicon")
    names = v.text_list(data["lexicon"], "lexicon", at, None, _child(root, "lexicon"))
    if len(names) > MAX_LEXICON_FILES:
        v.add(f"lexicon: more than {MAX_LEXICON_FILES} files", at)
        return []
    if names and read is None:
        v.add("lexicon: files can only be read when the knowledge file is read from disk", at)
        return []
    out: list[tuple[_Validator, dict[str, Any], yaml.Node]] = []
    for listed in dict.fromkeys(names):
        assert read is not None
        try:
            name, text = read(listed)
        except KnowledgeError as exc:
            v.problems.extend(exc.problems)
            v.found += len(exc.problems)
            continue
        lv = _Validator(name, article)
        try:
            node, value = safe_yaml.parse(text, MAX_YAML_NODES)
        except safe_yaml.YAMLFileError as exc:
            v.problems.extend(_refused(exc, name, text).problems)
            v.found += 1
            continue
        if node is None or not isinstance(value, dict) or not isinstance(node, yaml.MappingNode):
            v.add(f"lexicon file {listed!r} must be a mapping with 'language:'", at)
            continue
        lv.fields(value, _LEXICON_TOP_LEVEL, "the top level", 1)
        if "version" in value and value["version"] != 1:
            lv.add(f"version {shown(value['version'])} is not supported (use 1)", 1)
        if "language" in value and value["language"] not in LANGUAGES:
            known = ", ".join(sorted(LANGUAGES))
            lv.add(f"language {shown(value['language'])} is not one of {known}", 1)
        out.append((lv, value, node))
    return out


def parse_knowledge(
    text: str,
    article: str,
    name: str = "<memory>",
    digest: str = "",
    read_lexicon: LexiconReader | None = None,
) -> KnowledgeBase:
    """Validate YAML ``text`` against ``article`` and build the knowledge base.

    ``read_lexicon`` reads the lexicon files the text lists (see :func:`load_knowledge`).
    """
    try:
        root, data = safe_yaml.parse(text, MAX_YAML_NODES)
    except safe_yaml.YAMLFileError as exc:
        raise _refused(exc, name, text) from None
    if root is None:
        raise KnowledgeError([Problem(name, "the file is empty; it needs at least 'facts:'")])
    v = _Validator(name, article)
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise KnowledgeError(
            [Problem(name, f"the top level must be a mapping, not {_type_name(data)}", 1)]
        )
    v.fields(data, _TOP_LEVEL, "the top level", 1)
    if "version" in data and data["version"] != 1:
        message = f"version {shown(data['version'])} is not supported (use 1)"
        v.add(message, _line_of(root, "version"))

    source = Source("Untitled", "unknown", "unknown", "unknown")
    if "source" in data:
        parsed = _parse_source(v, data["source"], _line_of(root, "source"))
        source = parsed or source
        if parsed is not None:
            v.headline = _squash(parsed.title)
    lexicons = _read_lexicons(v, data, root, article, read_lexicon)
    sections = [(v, data, root), *lexicons]
    year = re.match(r"(?:19|20)[0-9]{2}\b", source.date)
    vocabulary = _Vocabulary(
        _canonicals([d.get("aliases") for _, d, _ in sections]), int(year[0]) if year else None
    )
    for validator, section, node in sections:
        vocabulary.add(validator, section, node)
    unanswerable: tuple[str, ...] = ()
    if data.get("unanswerable") is not None:
        unanswerable = v.text_list(
            data["unanswerable"],
            "unanswerable",
            _line_of(root, "unanswerable"),
            None,
            _child(root, "unanswerable"),
        )

    facts: list[Fact] = []
    # Every id the file names, loaded or not: a fact refused for its quote is still the
    # fact that "examples:" means, and one mistake should make one message.
    seen_ids: dict[str, int] = {}
    raw_facts = data.get("facts")
    facts_node = next(
        (
            val
            for key, val in root.value
            if isinstance(key, yaml.ScalarNode) and key.value == "facts"
        ),
        None,
    )
    if "facts" in data:
        if not isinstance(raw_facts, list) or not isinstance(facts_node, yaml.SequenceNode):
            v.add(f"'facts' must be a list, not {_type_name(raw_facts)}", _line_of(root, "facts"))
        elif not raw_facts:
            v.add("'facts' is empty; add at least one fact", _line_of(root, "facts"))
        elif len(raw_facts) > MAX_FACTS:
            v.add(f"more than {MAX_FACTS} facts", _line_of(root, "facts"))
        else:
            for index, (node, value) in enumerate(zip(facts_node.value, raw_facts, strict=True), 1):
                fact = _parse_fact(v, node, value, index)
                raw_id = value.get("id") if isinstance(value, dict) else None
                if isinstance(raw_id, str):
                    line = int(node.start_mark.line) + 1
                    if raw_id in seen_ids:
                        v.add(f"duplicate id (first used at line {seen_ids[raw_id]})", line, raw_id)
                    else:
                        seen_ids[raw_id] = line
                if fact is not None:
                    facts.append(fact)

    examples: tuple[str, ...] = ()
    if data.get("examples") is not None:
        at = _line_of(root, "examples")
        examples = v.text_list(data["examples"], "examples", at, None, _child(root, "examples"))
        for example in examples:
            if seen_ids and example not in seen_ids:
                v.add(f"examples: {example!r} is not a fact id", at)
    people = _parse_people(v, data.get("people"), _line_of(root, "people"))
    _warn_shared_phrasings(v, facts, seen_ids)
    problems = [p for validator, _, _ in sections for p in validator.listed()]
    if problems:
        raise KnowledgeError(problems)
    if not examples:
        examples = tuple(f.id for f in facts[:3])
    return KnowledgeBase(
        source=source,
        facts=tuple(facts),
        article=article,
        aliases=MappingProxyType(vocabulary.aliases),
        stopwords=frozenset(vocabulary.stopwords),
        chit_chat=MappingProxyType(vocabulary.chit_chat),
        unanswerable=unanswerable,
        examples=examples,
        path=name,
        digest=digest,
        people=MappingProxyType(people),
        warnings=tuple(w for validator, _, _ in sections for w in validator.warnings),
    )


def _warn_shared_phrasings(v: _Validator, facts: Sequence[Fact], lines: Mapping[str, int]) -> None:
    """A phrasing two facts share cannot tell them apart: the matcher picks one of them."""
    owner: dict[str, str] = {}
    for fact in facts:
        for question in fact.questions:
            first = owner.setdefault(_words_key(question), fact.id)
            if first != fact.id:
                v.warn(
                    f"the phrasing {question!r} is also a phrasing of fact '{first}'",
                    lines.get(fact.id),
                    fact.id,
                )


def _parse_people(v: _Validator, value: object, line: int) -> dict[str, str]:
    """``people: {Name: he|she}``; each name must be whole words of the article."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        v.add(f"'people' must be a mapping of name: he or she, not {_type_name(value)}", line)
        return {}
    out: dict[str, str] = {}
    for name, group in value.items():
        if not isinstance(name, str) or not name.strip():
            v.add(f"people: a name must be text, not {shown(name)}", line)
            continue
        if group not in PRONOUN_GROUPS:
            v.add(f"people: {name!r} must be 'he' or 'she', not {shown(group)}", line)
            continue
        if not _occurs(_squash(name), v.article_squashed)[1]:
            v.add(f"people: {name!r} is not a name in the article (whole words)", line)
            continue
        out[_squash(name)] = str(group)
    return out


def knowledge_files(kb: KnowledgeBase, facts: Path, article: Path) -> tuple[Path, ...]:
    """Every file ``kb`` was read from: the facts file, the article, the lexicon files it lists
    (what a reload re-reads, so what a watcher watches)."""
    return (facts, article, *map(Path, kb.lexicon_paths))


def load_knowledge(facts_path: Path, article_path: Path) -> KnowledgeBase:
    """Read, validate and build the knowledge base from files; raises KnowledgeError."""
    article = load_article(article_path)
    data = _read_bytes(facts_path, MAX_FILE_BYTES, "knowledge file")
    name = str(facts_path)
    text = _decode(data, name, "knowledge file")
    if not text.strip():
        raise KnowledgeError([Problem(name, "the file is empty; it needs at least 'facts:'")])
    digest = hashlib.sha256(data)
    read: list[str] = []

    def read_lexicon(listed: str) -> tuple[str, str]:
        # Relative to the facts file, so a knowledge directory can be copied as a whole.
        path = facts_path.parent / listed
        read.append(str(path))
        raw = _read_bytes(path, MAX_FILE_BYTES, "lexicon file")
        digest.update(b"\0" + listed.encode() + b"\0" + raw)
        return str(path), _decode(raw, str(path), "lexicon file")

    kb = parse_knowledge(text, article, name, "", read_lexicon)
    # The digest covers every file read, so a changed lexicon is a changed knowledge base.
    return replace(kb, digest=digest.hexdigest(), lexicon_paths=tuple(read))
