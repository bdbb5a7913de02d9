"""Reading a knowledge file's text into a :class:`~bot.knowledge_model.KnowledgeBase`:
each section (source, lexicons, aliases, facts, examples, people) parsed and checked.

The facts file holds what is the article's (facts, near misses, the source); the
vocabulary shared by every fact (aliases, stopwords, small talk) lives in per-language
lexicon files that the facts file lists under ``lexicon:`` and that are merged into one
knowledge base. A file with any problem is refused as a whole with
:class:`~bot.knowledge_model.KnowledgeError`, listing every problem found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import yaml

from bot import safe_yaml
from bot.knowledge_checks import (
    FACT_FIELDS,
    FACT_ID,
    INTENTS,
    LANGUAGES,
    LEXICON_TOP_LEVEL,
    MAX_ANSWER_CHARS,
    MAX_FACTS,
    MAX_LABEL_CHARS,
    MAX_LEXICON_FILES,
    MAX_QUESTIONS_PER_FACT,
    MAX_YAML_NODES,
    MIN_PHRASINGS,
    PRONOUN_GROUPS,
    SOURCE_FIELDS,
    TOP_LEVEL,
    Validator,
    alias_key,
    words_key,
)
from bot.knowledge_model import Fact, KnowledgeBase, KnowledgeError, Problem, Source
from bot.knowledge_yaml import child, line_of, refused, type_name
from bot.language import detect_language, labels_by_language
from bot.normalise import MIN_STEM, fold, tokenize
from bot.quote_check import occurs, squash
from bot.safe_yaml import shown

_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
_NUMBER_WORDS = frozenset(  # a word list reads better than 31 quoted strings
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
    ninety hundred thousand and""".split()  # noqa: SIM905
)


LexiconReader = Callable[[str], tuple[str, str]]
"""Reads a lexicon file named in the facts file: (its name for messages, its text)."""


def _parse_source(v: Validator, value: object, line: int) -> Source | None:
    if not isinstance(value, dict):
        v.add(f"'source' must be a mapping, not {type_name(value)}", line)
        return None
    v.fields(value, SOURCE_FIELDS, "source", line)
    parts: dict[str, str | None] = {}
    for key in SOURCE_FIELDS:
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


def _canonicals(sections: Sequence[object]) -> dict[str, str]:
    """Every canonical word of every aliases section, by its normalised form."""
    return {
        words_key(c): c
        for section in sections
        if isinstance(section, dict)
        for c in section
        if isinstance(c, str)
    }


def _parse_aliases(
    v: Validator,
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
        v.add(f"'aliases' must be a mapping of word: [variants], not {type_name(value)}", line)
        return
    # Aliases are applied in one pass, so a variant that is itself another canonical word
    # (turkey: [turkiye] beside turkiye: [turkey]) would make the two sides never meet.
    for canonical, variants in value.items():
        if not isinstance(canonical, str) or not tokenize(fold(canonical)):
            v.add(f"alias key {shown(canonical)} must be a word", line)
            continue
        group = child(node, canonical)
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
            key = alias_key(item)
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


def _parse_fact(v: Validator, node: yaml.Node, value: object, index: int) -> Fact | None:
    line = int(node.start_mark.line) + 1
    if not isinstance(value, dict):
        v.add(f"facts #{index} must be a mapping with id, questions, answer, quote", line)
        return None
    raw_id = value.get("id")
    fact_id = raw_id if isinstance(raw_id, str) else None
    v.fields(value, FACT_FIELDS, f"facts #{index}", line, fact_id)
    if "id" in value and (not isinstance(raw_id, str) or not FACT_ID.match(raw_id)):
        v.add(
            f"facts #{index}: id {shown(raw_id)} must be a slug (lower-case letters, digits, _)",
            line_of(node, "id"),
        )
        fact_id = None
    before = v.found
    questions = (
        v.text_list(
            value["questions"],
            "questions",
            line_of(node, "questions"),
            fact_id,
            child(node, "questions"),
        )
        if "questions" in value
        else ()
    )
    if "questions" in value and isinstance(value["questions"], list):
        if not value["questions"]:
            v.add("questions is an empty list", line_of(node, "questions"), fact_id)
        elif len(value["questions"]) > MAX_QUESTIONS_PER_FACT:
            at = line_of(node, "questions")
            v.add(f"more than {MAX_QUESTIONS_PER_FACT} questions", at, fact_id)
    keywords = (
        v.text_list(
            value["keywords"],
            "keywords",
            line_of(node, "keywords"),
            fact_id,
            child(node, "keywords"),
        )
        if value.get("keywords") is not None
        else ()
    )
    answer = (
        v.text(value["answer"], "answer", line_of(node, "answer"), fact_id, MAX_ANSWER_CHARS)
        if "answer" in value
        else None
    )
    quote = None
    if "quote" in value:
        quote = v.text(value["quote"], "quote", line_of(node, "quote"), fact_id)
        if quote is not None:
            v.quote(quote, line_of(node, "quote"), fact_id or f"#{index}")
    answers = _per_language(
        v, value.get("answers"), "answers", line_of(node, "answers"), fact_id, MAX_ANSWER_CHARS
    )
    labels = _parse_labels(v, value.get("labels"), line_of(node, "labels"), fact_id)
    if v.found != before or fact_id is None or answer is None or quote is None:
        return None
    english = labels.get("en", questions[0] if questions else "")
    where = "labels.en" if "en" in labels else "the first phrasing (its English label)"
    at = line_of(node, "labels" if "en" in labels else "questions")
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
            line_of(node, "questions"),
            fact_id,
        )
    missing = sorted(LANGUAGES - set(labels) - {"en"})
    if labels and missing:
        v.warn(f"labels: none for {', '.join(missing)}", line_of(node, "labels"), fact_id)
    return Fact(
        id=fact_id,
        questions=questions,
        answer=answer,
        quote=quote,
        keywords=keywords,
        answers=MappingProxyType(answers),
        written_labels=MappingProxyType(labels),
        labels=MappingProxyType(labels_by_language(questions, labels)),
    )


def _per_language(
    v: Validator, raw: object, what: str, line: int, fact_id: str | None, limit: int
) -> dict[str, str]:
    """``what: {tr: ..., ru: ...}`` (answers, labels): known language codes, each a text."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        v.add(f"{what} must be a mapping of language: text, not {type_name(raw)}", line, fact_id)
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


def _parse_labels(v: Validator, raw: object, line: int, fact_id: str | None) -> dict[str, str]:
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

    def add(self, v: Validator, data: dict[str, Any], root: yaml.Node) -> None:
        """Validate and merge one file's ``aliases``, ``stopwords`` and ``chit_chat``."""
        if data.get("aliases") is not None:
            at = line_of(root, "aliases")
            _parse_aliases(
                v,
                data["aliases"],
                at,
                self.aliases,
                self.owner,
                self.canonicals,
                child(root, "aliases"),
            )
        if data.get("relative_years") is not None:
            self._relative_years(v, data["relative_years"], root)
        if data.get("stopwords") is not None:
            at = line_of(root, "stopwords")
            words = v.text_list(data["stopwords"], "stopwords", at, None, child(root, "stopwords"))
            self.stopwords.update(t for w in words for t in tokenize(fold(w)))
        if data.get("chit_chat") is None:
            return
        self._chit_chat(v, data["chit_chat"], root)

    def _relative_years(self, v: Validator, raw: object, root: yaml.Node) -> None:
        """``relative_years: {-1: [last year]}``: aliases of the year that many years from
        the article's, so "last year" means the same year in every language."""
        at = line_of(root, "relative_years")
        if not isinstance(raw, dict):
            v.add(
                f"'relative_years' must be a mapping of offset: [phrases], not {type_name(raw)}",
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

    def _chit_chat(self, v: Validator, raw: object, root: yaml.Node) -> None:
        at = line_of(root, "chit_chat")
        if not isinstance(raw, dict):
            what = type_name(raw)
            v.add(f"'chit_chat' must be a mapping of intent: [phrasings], not {what}", at)
            return
        for intent, phrasings in raw.items():
            if intent not in INTENTS:
                v.add(
                    f"chit_chat: unknown intent {shown(intent)} (known: {', '.join(INTENTS)})",
                    at,
                )
                continue
            group = child(child(root, "chit_chat"), str(intent))
            where = at if group is None else int(group.start_mark.line) + 1
            listed = v.text_list(phrasings, f"chit_chat.{intent}", where, None, group)
            self.chit_chat[intent] = self.chit_chat.get(intent, ()) + listed


def _read_lexicons(
    v: Validator,
    data: dict[str, Any],
    root: yaml.Node,
    article: str,
    read: LexiconReader | None,
) -> list[tuple[Validator, dict[str, Any], yaml.Node]]:
    """Parse every lexicon file the facts file lists; problems name the lexicon file."""
    if data.get("lexicon") is None:
        return []
    at = line_of(root, "lexicon")
    names = v.text_list(data["lexicon"], "lexicon", at, None, child(root, "lexicon"))
    if len(names) > MAX_LEXICON_FILES:
        v.add(f"lexicon: more than {MAX_LEXICON_FILES} files", at)
        return []
    if names and read is None:
        v.add("lexicon: files can only be read when the knowledge file is read from disk", at)
        return []
    out: list[tuple[Validator, dict[str, Any], yaml.Node]] = []
    for listed in dict.fromkeys(names):
        assert read is not None
        try:
            name, text = read(listed)
        except KnowledgeError as exc:
            v.problems.extend(exc.problems)
            v.found += len(exc.problems)
            continue
        lv = Validator(name, article)
        try:
            node, value = safe_yaml.parse(text, MAX_YAML_NODES)
        except safe_yaml.YAMLFileError as exc:
            v.problems.extend(refused(exc, name, text).problems)
            v.found += 1
            continue
        if node is None or not isinstance(value, dict) or not isinstance(node, yaml.MappingNode):
            v.add(f"lexicon file {listed!r} must be a mapping with 'language:'", at)
            continue
        lv.fields(value, LEXICON_TOP_LEVEL, "the top level", 1)
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
        raise refused(exc, name, text) from None
    if root is None:
        raise KnowledgeError([Problem(name, "the file is empty; it needs at least 'facts:'")])
    v = Validator(name, article)
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise KnowledgeError(
            [Problem(name, f"the top level must be a mapping, not {type_name(data)}", 1)]
        )
    v.fields(data, TOP_LEVEL, "the top level", 1)
    if "version" in data and data["version"] != 1:
        message = f"version {shown(data['version'])} is not supported (use 1)"
        v.add(message, line_of(root, "version"))

    source = Source("Untitled", "unknown", "unknown", "unknown")
    if "source" in data:
        parsed = _parse_source(v, data["source"], line_of(root, "source"))
        source = parsed or source
        if parsed is not None:
            v.headline = squash(parsed.title)
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
            line_of(root, "unanswerable"),
            None,
            child(root, "unanswerable"),
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
            v.add(f"'facts' must be a list, not {type_name(raw_facts)}", line_of(root, "facts"))
        elif not raw_facts:
            v.add("'facts' is empty; add at least one fact", line_of(root, "facts"))
        elif len(raw_facts) > MAX_FACTS:
            v.add(f"more than {MAX_FACTS} facts", line_of(root, "facts"))
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
        at = line_of(root, "examples")
        examples = v.text_list(data["examples"], "examples", at, None, child(root, "examples"))
        for example in examples:
            if seen_ids and example not in seen_ids:
                v.add(f"examples: {example!r} is not a fact id", at)
    people = _parse_people(v, data.get("people"), line_of(root, "people"))
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


def _warn_shared_phrasings(v: Validator, facts: Sequence[Fact], lines: Mapping[str, int]) -> None:
    """A phrasing two facts share cannot tell them apart: the matcher picks one of them."""
    owner: dict[str, str] = {}
    for fact in facts:
        for question in fact.questions:
            first = owner.setdefault(words_key(question), fact.id)
            if first != fact.id:
                v.warn(
                    f"the phrasing {question!r} is also a phrasing of fact '{first}'",
                    lines.get(fact.id),
                    fact.id,
                )


def _parse_people(v: Validator, value: object, line: int) -> dict[str, str]:
    """``people: {Name: he|she}``; each name must be whole words of the article."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        v.add(f"'people' must be a mapping of name: he or she, not {type_name(value)}", line)
        return {}
    out: dict[str, str] = {}
    for name, group in value.items():
        if not isinstance(name, str) or not name.strip():
            v.add(f"people: a name must be text, not {shown(name)}", line)
            continue
        if group not in PRONOUN_GROUPS:
            v.add(f"people: {name!r} must be 'he' or 'she', not {shown(group)}", line)
            continue
        if not occurs(squash(name), v.article_squashed)[1]:
            v.add(f"people: {name!r} is not a name in the article (whole words)", line)
            continue
        out[squash(name)] = str(group)
    return out
