"""Loading and validating the knowledge base (``facts.yaml`` checked against the article).

A knowledge base is built completely and validated before anything sees it; a file with any
problem is refused as a whole with :class:`KnowledgeError`, listing every problem found.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from bot.language import detect_language
from bot.normalise import MIN_STEM, fold, tokenize

MAX_FILE_BYTES = 1_048_576
"""A knowledge file larger than this is refused before it is parsed."""
MAX_ARTICLE_BYTES = 1_048_576
MAX_YAML_NODES = 200_000
MAX_FACTS = 2_000
MAX_QUESTIONS_PER_FACT = 200
MAX_PHRASING_CHARS = 300
MAX_ANSWER_CHARS = 200
MAX_QUOTE_CHARS = 1_000
INTENTS = ("greeting", "thanks", "help", "goodbye", "about", "ack")
"""Small-talk intents the ``chit_chat`` section may list phrasings for."""
LANGUAGES = frozenset({"en", "tr", "az", "ru"})
"""Language codes a fact's per-language ``answers`` may use."""

_ID = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_TOP_LEVEL = {
    "version": False,
    "source": False,
    "aliases": False,
    "stopwords": False,
    "chit_chat": False,
    "unanswerable": False,
    "examples": False,
    "facts": True,
}
_FACT_FIELDS = {
    "id": True,
    "questions": True,
    "answer": True,
    "quote": True,
    "keywords": False,
    "answers": False,
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
    labels: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Guessing a phrasing's language costs a millisecond per fact; suggestion labels are
        # on every "doesn't say" reply, so the first phrasing of each language is found once.
        labels: dict[str, str] = {}
        for question in reversed(self.questions):
            language = detect_language(question)
            if language is not None:
                labels[language] = question
        object.__setattr__(self, "labels", MappingProxyType(labels))

    def answer_in(self, language: str) -> str:
        """The answer in ``language`` when written, else the default (English) one."""
        return self.answers.get(language, self.answer)

    def question_in(self, language: str) -> str:
        """The first phrasing written in ``language``, else the first phrasing."""
        if language == "en":
            return self.questions[0]
        return self.labels.get(language, self.questions[0])


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


def _read_bytes(path: Path, limit: int, what: str) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise KnowledgeError([Problem(str(path), f"{what} not found")]) from None
    except OSError as exc:
        raise KnowledgeError([Problem(str(path), f"cannot read {what}: {exc.strerror}")]) from None
    if not path.is_file():
        raise KnowledgeError([Problem(str(path), f"{what} is not a regular file")])
    if size > limit:
        raise KnowledgeError(
            [Problem(str(path), f"{what} is {size:,} bytes; the limit is {limit:,} bytes")]
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise KnowledgeError([Problem(str(path), f"cannot read {what}: {exc.strerror}")]) from None
    if len(data) > limit:
        raise KnowledgeError([Problem(str(path), f"{what} is larger than {limit:,} bytes")])
    return data


def _decode(data: bytes, name: str, what: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        raise KnowledgeError(
            [Problem(name, f"{what} starts with a UTF-8 byte-order mark; save it without one")]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise KnowledgeError(
            [Problem(name, f"{what} is not valid UTF-8 (byte {exc.start})", line)]
        ) from None


def load_article(path: Path) -> str:
    """Read the article text, refusing a missing, unreadable, empty or oversized file."""
    text = _decode(_read_bytes(path, MAX_ARTICLE_BYTES, "article"), str(path), "article")
    if not text.strip():
        raise KnowledgeError([Problem(str(path), "article is empty")])
    return text


# libyaml's parser is about fifteen times faster than PyYAML's own; both are safe.
_PARSER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str, name: str) -> yaml.Node | None:
    """Parse YAML to a node tree with the safe loader, turning errors into a Problem."""
    loader = _PARSER(text)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        if "nesting depth" in str(exc.problem):
            # libyaml's limit on "[[[[..." (PyYAML's own parser runs out of stack instead).
            raise KnowledgeError([Problem(name, "the YAML is nested too deeply", line)]) from None
        context = exc.context or ""
        if context and exc.context_mark and exc.context_mark.line + 1 != line:
            # Where the unclosed quote or bracket began, often far above the error.
            context += f" (from line {exc.context_mark.line + 1})"
        message = " ".join(str(part) for part in (context, exc.problem) if part)
        lines = text.splitlines()
        if line is not None and 0 < line <= len(lines) and "\t" in lines[line - 1]:
            message += " (a tab: YAML indents with spaces only)"
        raise KnowledgeError([Problem(name, f"YAML syntax error: {message}", line)]) from None
    except yaml.YAMLError as exc:
        raise KnowledgeError([Problem(name, f"YAML error: {exc}")]) from None
    except RecursionError:
        # PyYAML composes recursively: "[[[[..." thousands deep would crash the process.
        line = loader.get_mark().line + 1
        raise KnowledgeError([Problem(name, "the YAML is nested too deeply", line)]) from None
    finally:
        loader.dispose()


def _walk(node: yaml.Node, name: str) -> Iterator[yaml.Node]:
    """Every node once; refuses anchors/aliases (shared nodes) and oversized trees."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            raise KnowledgeError(
                [
                    Problem(
                        name,
                        "YAML anchors and aliases (&name / *name) are not allowed",
                        current.start_mark.line + 1,
                    )
                ]
            )
        seen.add(id(current))
        if len(seen) > MAX_YAML_NODES:
            raise KnowledgeError(
                [Problem(name, f"the file has more than {MAX_YAML_NODES:,} YAML nodes")]
            )
        yield current
        if isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.append(key)
                stack.append(value)


def _check_nodes(root: yaml.Node, name: str) -> list[Problem]:
    problems: list[Problem] = []
    for node in _walk(root, name):
        line = node.start_mark.line + 1
        # Python tags are refused on every kind of node, not just scalars:
        # "!!python/object/apply:os.system [...]" is a sequence.
        if node.tag.startswith("tag:yaml.org,2002:python") or not node.tag.startswith(
            "tag:yaml.org,2002:"
        ):
            problems.append(Problem(name, f"the tag {node.tag} is not allowed", line))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        problems.append(
                            Problem(name, f"duplicate key '{key.value}'", key.start_mark.line + 1)
                        )
                    keys.add(key.value)
    return problems


def _unreadable_scalar(root: yaml.Node, name: str) -> int | None:
    """The line of the first scalar the safe constructor cannot turn into a value."""
    loader = yaml.SafeLoader("")
    try:
        for node in _walk(root, name):
            if isinstance(node, yaml.ScalarNode):
                try:
                    loader.construct_object(node)
                except (ValueError, OverflowError):
                    return int(node.start_mark.line) + 1
    finally:
        loader.dispose()
    return None


def _construct(root: yaml.Node, name: str) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise KnowledgeError([Problem(name, f"YAML error: {exc.problem}", line)]) from None
    except (ValueError, OverflowError) as exc:
        # An impossible date (2022-02-30) or an integer of thousands of digits.
        message = f"YAML error: a value cannot be read: {exc}"
        raise KnowledgeError([Problem(name, message, _unreadable_scalar(root, name))]) from None
    finally:
        loader.dispose()


def _line_of(mapping_node: yaml.Node, key: str) -> int:
    if isinstance(mapping_node, yaml.MappingNode):
        for k, v in mapping_node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return int(v.start_mark.line) + 1
    return int(mapping_node.start_mark.line) + 1


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
        self.article_squashed = _squash(article)

    def add(self, message: str, line: int | None = None, fact_id: str | None = None) -> None:
        self.problems.append(Problem(self.name, message, line, fact_id))

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
        self, value: object, what: str, line: int, fact_id: str | None = None
    ) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.add(f"{what} must be a list of strings, not {_type_name(value)}", line, fact_id)
            return ()
        out: list[str] = []
        seen: set[str] = set()
        for index, item in enumerate(value, 1):
            text = self.text(item, f"{what} #{index}", line, fact_id, MAX_PHRASING_CHARS)
            if text is None:
                continue
            # A stem ("veteran*") and the plain word ("veteran") are different variants.
            key = " ".join(tokenize(fold(text))) + ("*" if text.endswith("*") else "")
            if not key.rstrip("*"):
                self.add(f"{what} #{index} has no words: {text!r}", line, fact_id)
                continue
            if key in seen:
                self.add(f"{what} #{index} repeats an earlier one: {text!r}", line, fact_id)
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
        elif _squash(quote) not in self.article_squashed:
            self.add(
                f"quote is not in the article word for word: {quote!r}",
                line,
                fact_id,
            )


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


def _parse_aliases(v: _Validator, value: object, line: int) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        v.add(f"'aliases' must be a mapping of word: [variants], not {_type_name(value)}", line)
        return {}
    out: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    # Aliases are applied in one pass, so a variant that is itself another canonical word
    # (turkey: [turkiye] beside turkiye: [turkey]) would make the two sides never meet.
    canonicals = {" ".join(tokenize(fold(c))): c for c in value if isinstance(c, str)}
    for canonical, variants in value.items():
        if not isinstance(canonical, str) or not tokenize(fold(canonical)):
            v.add(f"alias key {canonical!r} must be a word", line)
            continue
        items = v.text_list(variants, f"aliases.{canonical}", line)
        for item in items:
            if item.endswith("*") and (
                len(tokenize(fold(item[:-1]))) != 1 or len(fold(item[:-1]).strip()) < MIN_STEM
            ):
                v.add(
                    f"alias stem {item!r} under '{canonical}' must be one word of at least "
                    f"{MIN_STEM} letters before the *",
                    line,
                )
            key = " ".join(tokenize(fold(item))) + ("*" if item.endswith("*") else "")
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
        out[canonical] = items
    return out


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
            f"facts #{index}: id {raw_id!r} must be a slug (lower-case letters, digits, _)",
            _line_of(node, "id"),
        )
        fact_id = None
    before = len(v.problems)
    questions = (
        v.text_list(value["questions"], "questions", _line_of(node, "questions"), fact_id)
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
        v.text_list(value["keywords"], "keywords", _line_of(node, "keywords"), fact_id)
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
    answers: dict[str, str] = {}
    if value.get("answers") is not None:
        raw = value["answers"]
        at = _line_of(node, "answers")
        if not isinstance(raw, dict):
            what = _type_name(raw)
            v.add(f"answers must be a mapping of language: text, not {what}", at, fact_id)
        else:
            for lang, text in raw.items():
                if lang not in LANGUAGES:
                    known = ", ".join(sorted(LANGUAGES))
                    v.add(f"answers: unknown language code {lang!r} (known: {known})", at, fact_id)
                    continue
                checked = v.text(text, f"answers.{lang}", at, fact_id, MAX_ANSWER_CHARS)
                if checked is not None:
                    answers[lang] = checked
    if len(v.problems) != before or fact_id is None or answer is None or quote is None:
        return None
    return Fact(
        id=fact_id,
        questions=questions,
        answer=answer,
        quote=quote,
        keywords=keywords,
        answers=MappingProxyType(answers),
    )


def parse_knowledge(
    text: str, article: str, name: str = "<memory>", digest: str = ""
) -> KnowledgeBase:
    """Validate YAML ``text`` against ``article`` and build the knowledge base."""
    root = _compose(text, name)
    if root is None:
        raise KnowledgeError([Problem(name, "the file is empty; it needs at least 'facts:'")])
    v = _Validator(name, article)
    v.problems.extend(_check_nodes(root, name))
    if v.problems:
        raise KnowledgeError(v.problems)
    data = _construct(root, name)
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise KnowledgeError(
            [Problem(name, f"the top level must be a mapping, not {_type_name(data)}", 1)]
        )
    v.fields(data, _TOP_LEVEL, "the top level", 1)
    if "version" in data and data["version"] != 1:
        v.add(f"version {data['version']!r} is not supported (use 1)", _line_of(root, "version"))

    source = Source("Untitled", "unknown", "unknown", "unknown")
    if "source" in data:
        parsed = _parse_source(v, data["source"], _line_of(root, "source"))
        source = parsed or source
    aliases = (
        _parse_aliases(v, data["aliases"], _line_of(root, "aliases"))
        if data.get("aliases") is not None
        else {}
    )
    stopwords: frozenset[str] = frozenset()
    if data.get("stopwords") is not None:
        words = v.text_list(data["stopwords"], "stopwords", _line_of(root, "stopwords"))
        stopwords = frozenset(t for w in words for t in tokenize(fold(w)))
    chit_chat: dict[str, tuple[str, ...]] = {}
    if data.get("chit_chat") is not None:
        raw = data["chit_chat"]
        at = _line_of(root, "chit_chat")
        if not isinstance(raw, dict):
            what = _type_name(raw)
            v.add(f"'chit_chat' must be a mapping of intent: [phrasings], not {what}", at)
        else:
            for intent, phrasings in raw.items():
                if intent not in INTENTS:
                    v.add(
                        f"chit_chat: unknown intent {intent!r} (known: {', '.join(INTENTS)})",
                        at,
                    )
                    continue
                chit_chat[intent] = v.text_list(phrasings, f"chit_chat.{intent}", at)
    unanswerable: tuple[str, ...] = ()
    if data.get("unanswerable") is not None:
        unanswerable = v.text_list(
            data["unanswerable"], "unanswerable", _line_of(root, "unanswerable")
        )

    facts: list[Fact] = []
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
            seen_ids: dict[str, int] = {}
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
        examples = v.text_list(data["examples"], "examples", at)
        ids = {f.id for f in facts}
        for example in examples:
            if facts and example not in ids:
                v.add(f"examples: {example!r} is not a fact id", at)
    if v.problems:
        raise KnowledgeError(v.problems)
    if not examples:
        examples = tuple(f.id for f in facts[:3])
    return KnowledgeBase(
        source=source,
        facts=tuple(facts),
        article=article,
        aliases=MappingProxyType(aliases),
        stopwords=stopwords,
        chit_chat=MappingProxyType(chit_chat),
        unanswerable=unanswerable,
        examples=examples,
        path=name,
        digest=digest,
    )


def load_knowledge(facts_path: Path, article_path: Path) -> KnowledgeBase:
    """Read, validate and build the knowledge base from files; raises KnowledgeError."""
    article = load_article(article_path)
    data = _read_bytes(facts_path, MAX_FILE_BYTES, "knowledge file")
    name = str(facts_path)
    text = _decode(data, name, "knowledge file")
    if not text.strip():
        raise KnowledgeError([Problem(name, "the file is empty; it needs at least 'facts:'")])
    return parse_knowledge(text, article, name, hashlib.sha256(data).hexdigest())
