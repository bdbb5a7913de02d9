"""The rules of a knowledge file (its limits, fields, intents and languages) and the
:class:`Validator` that checks texts and lists against them, collecting every problem
in one pass.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from bot.knowledge_model import Problem
from bot.knowledge_yaml import folded, quoted_item, type_name
from bot.language import LANGUAGES as LANGUAGE_CODES
from bot.normalise import fold, tokenize
from bot.quote_check import occurs, quote_hint, squash

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
MAX_PROBLEMS = 100
"""Problems listed for one file at most; the rest are counted in one last line."""
INTENTS = ("greeting", "thanks", "help", "goodbye", "about", "ack", "self", "chatter")
"""Small-talk intents the ``chit_chat`` section may list phrasings for."""
LANGUAGES = frozenset(LANGUAGE_CODES)
"""Language codes a fact's per-language ``answers`` and ``labels`` may use."""
FACT_ID = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
TOP_LEVEL = {
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
LEXICON_TOP_LEVEL = {
    "version": False,
    "language": True,
    "aliases": False,
    "stopwords": False,
    "chit_chat": False,
    "relative_years": False,
}
MAX_LEXICON_FILES = 16
FACT_FIELDS = {
    "id": True,
    "questions": True,
    "answer": True,
    "quote": True,
    "keywords": False,
    "answers": False,
    "labels": False,
}
SOURCE_FIELDS = {"title": True, "outlet": True, "author": True, "date": True, "url": False}


class Validator:
    """Collects every problem in one pass so an editor can fix them all at once."""

    def __init__(self, name: str, article: str) -> None:
        self.name = name
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.found = 0
        self.article_squashed = squash(article)
        self.article_lines = frozenset(squash(line) for line in article.splitlines())
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
            self.add(f"{what} must be a string, not {type_name(value)}", line, fact_id)
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
            self.add(f"{what} must be a list of strings, not {type_name(value)}", line, fact_id)
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
                    f"by a space; put the text in quotes: {quoted_item(item)}",
                    at,
                    fact_id,
                )
                continue
            text = self.text(item, f"{what} #{index}", at, fact_id, MAX_PHRASING_CHARS)
            if text is None:
                continue
            if folded(item_node) and " - " in text:
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
            key = alias_key(text)
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
        squashed = squash(quote)
        if squashed == self.headline:
            return  # "what is the article's title?" is proved by the title, quoted whole
        found, whole = occurs(squashed, self.article_squashed)
        if not found:
            message = f"quote is not in the article word for word: {quote!r}"
            self.add(f"{message}; {quote_hint(squashed, self.article_squashed)}", line, fact_id)
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


def words_key(text: str) -> str:
    """``text`` as matching sees it (folded words): two texts with one key are one text."""
    return " ".join(tokenize(fold(text)))


def alias_key(item: str) -> str:
    """A variant's key: a stem ("veteran*") and the plain word ("veteran") differ."""
    return words_key(item) + ("*" if item.endswith("*") else "")
