"""A checker for Telegram's HTML parse mode (https://core.telegram.org/bots/api#html-style).

:func:`problems` returns what Telegram would object to in a message text sent with
``parse_mode=HTML``: a tag Telegram does not support (or with attributes it does not take),
unbalanced or crossed tags, a ``<``, ``>`` or ``&`` that is not part of a tag or of one of
the entities Telegram knows (``&lt; &gt; &amp; &quot;`` and numeric ones), comments and
declarations, and a text longer than 4,096 characters once parsed (counted in UTF-16 code
units, as Telegram does). Tag structure comes from :class:`html.parser.HTMLParser`; the
raw text is checked as well, since that parser is lenient about stray ``<``, ``>`` and ``&``.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

MAX_CHARS = 4096
ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_TAG = re.compile(r"</?[a-z][a-z-]*(?:\s+[a-z-]+(?:=\"[^\"<>]*\")?)*\s*>")


def _attributes_ok(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    names = dict(attrs)
    if tag == "a":
        return set(names) == {"href"} and bool(names["href"])
    if tag == "span":
        return names == {"class": "tg-spoiler"}
    if tag == "tg-emoji":
        return set(names) == {"emoji-id"} and (names["emoji-id"] or "").isdigit()
    if tag == "code":
        return not names or (
            set(names) == {"class"} and (names["class"] or "").startswith("language-")
        )
    if tag == "blockquote":
        return set(names) <= {"expandable"}
    return not names


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not supported")
        elif not _attributes_ok(tag, attrs):
            self.problems.append(f"tag <{tag}> with attributes {attrs}")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing tag <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> does not close the open tag {self.open[-1:]}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        for character in "<>&":
            if character in data:
                self.problems.append(f"unescaped {character!r} in {data[:40]!r}")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))

    def handle_comment(self, data: str) -> None:
        self.problems.append("an HTML comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("a declaration")

    def handle_pi(self, data: str) -> None:
        self.problems.append("a processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.problems.append("a CDATA section or unknown declaration")


def visible_text(text: str) -> str:
    """The message text as Telegram shows it (tags removed, entities decoded)."""
    checker = _Checker()
    checker.feed(text)
    checker.close()
    return "".join(checker.text)


def problems(text: str) -> list[str]:
    """Everything Telegram's HTML parse mode would refuse in ``text``; empty when valid."""
    found: list[str] = []
    position = 0
    while True:  # every & starts a known entity, every < a well-formed tag, no stray >
        match = re.search(r"[<>&]", text[position:])
        if match is None:
            break
        start = position + match.start()
        if text[start] == "&":
            entity = _ENTITY.match(text, start)
            if entity is None:
                found.append(f"'&' at {start} starts no entity: {text[start : start + 12]!r}")
                position = start + 1
            else:
                position = entity.end()
        elif text[start] == "<":
            tag = _TAG.match(text, start)
            if tag is None:
                found.append(f"'<' at {start} starts no tag: {text[start : start + 20]!r}")
                position = start + 1
            else:
                position = tag.end()
        else:
            found.append(f"stray '>' at {start}")
            position = start + 1
    checker = _Checker()
    checker.feed(text)
    checker.close()
    found.extend(checker.problems)
    if checker.open:
        found.append(f"tags left open: {checker.open}")
    shown = "".join(checker.text)
    length = len(shown.encode("utf-16-le", "surrogatepass")) // 2
    if length > MAX_CHARS:
        found.append(f"{length} characters once parsed; Telegram's limit is {MAX_CHARS}")
    if not shown.strip():
        found.append("no visible text")
    return found


def assert_valid(text: str) -> None:
    """Fail with every problem found when ``text`` is not valid Telegram HTML."""
    found = problems(text)
    assert not found, f"invalid Telegram HTML: {found}\n{text[:500]!r}"
