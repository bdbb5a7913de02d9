"""The one YAML loader of the project, for the knowledge file and the config file alike.

PyYAML's safe loader still speaks YAML 1.1, whose surprises are the problem here: ``1:0:0``
is a base-60 integer (built by repeated big-number multiplication, quadratic in its length),
``0x1F``, ``017`` and ``0b101`` are integers, ``yes``/``no``/``on``/``off`` are booleans,
``<<`` merges another mapping in (and so hides a duplicated field), and aliases can expand
a few hundred bytes into gigabytes. This loader narrows it to what the two files need:

* plain scalars resolve to null, ``true``/``false``, decimal integers, decimal floats
  (``.inf``/``.nan`` too) and dates; everything else (``1:0:0``, ``0x1F``, ``yes``) is text;
* only the standard tags for those, strings, lists and mappings;
* no anchors or aliases, no merge keys, no duplicate keys;
* at most :data:`MAX_DEPTH` levels of nesting and a caller-chosen number of nodes;
* integers of at most :data:`MAX_INT_DIGITS` digits.

Every refusal is an :class:`Issue`: a line (when known) and a one-line message.
"""

from __future__ import annotations

import importlib
import os
import re
import stat
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from yaml.constructor import ConstructorError

MAX_DEPTH = 32
"""Lists and mappings nested deeper than this are refused (the files need about five)."""
MAX_NODES = 200_000
MAX_INT_DIGITS = 100
"""Longer integers are refused: no setting or id needs them, and their conversion is slow."""

_TAG = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(
    _TAG + name for name in ("null", "bool", "int", "float", "str", "timestamp", "seq", "map")
)
_DECIMAL_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
# As YAML 1.1 has it, base 60 and "_" aside: a dot, and a signed exponent. So nothing that
# PyYAML reads as text (1e3) is a number here, and what it writes (1.0e+17) reads back.
_DECIMAL_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+][0-9]+)?")
_TIMESTAMP = (
    # PyYAML's date pattern (bounded): an unquoted "date: 2022-07-07" stays a date.
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?"
)
_IMPLICIT = re.compile(
    r"(?P<null>~|null|Null|NULL|)"
    r"|(?P<bool>true|True|TRUE|false|False|FALSE)"
    rf"|(?P<int>{_DECIMAL_INT.pattern})"
    rf"|(?P<float>{_DECIMAL_FLOAT.pattern}|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))"
    rf"|(?P<timestamp>{_TIMESTAMP})"
)
"""What a plain (unquoted) scalar may be other than text."""
_TYPED_FIRST = frozenset("~nNtTfF-+.0123456789")
_SPECIAL_FLOAT = {
    ".inf": float("inf"),
    "+.inf": float("inf"),
    "-.inf": float("-inf"),
    ".nan": float("nan"),
}


class Issue(NamedTuple):
    """One reason a file is refused: the line (1-based, when known) and what is wrong."""

    line: int | None
    message: str


class YAMLFileError(yaml.YAMLError):
    """The text cannot be used; ``issues`` lists why (at least one)."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = tuple(issues)
        first = self.issues[0]
        super().__init__(first.message if first.line is None else f"{first.line}: {first.message}")


def _refuse(message: str, line: int | None = None) -> YAMLFileError:
    return YAMLFileError([Issue(line, message)])


class SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.1's implicit types, merges and aliases taken out.

    Usable on its own (``yaml.load(text, Loader=SafeLoader)``): composing a document checks
    the node tree (:func:`inspect`) before anything is constructed.
    """

    # Fresh tables, so PyYAML's own SafeLoader is left as it is.
    # (resolve() below does not use the table; it is emptied so nothing else can either.)
    yaml_implicit_resolvers = {}  # noqa: RUF012 - PyYAML's class-level tables
    yaml_constructors = {}  # noqa: RUF012
    max_nodes: int = MAX_NODES

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        # One pattern instead of PyYAML's table of YAML 1.1 patterns; most plain scalars are
        # words and are told apart by their first character alone.
        if kind is yaml.ScalarNode:
            if implicit[0] and (not value or value[0] in _TYPED_FIRST):
                found = _IMPLICIT.fullmatch(value)
                if found is not None and found.lastgroup is not None:
                    return _TAG + found.lastgroup
            return _TAG + "str"
        return _TAG + ("seq" if kind is yaml.SequenceNode else "map")

    def get_single_node(self) -> yaml.Node | None:
        try:
            root = super().get_single_node()
        except RecursionError:
            # PyYAML's own composer recurses; libyaml's stops at depth 1,000 by itself.
            raise _refuse("the YAML is nested too deeply", self.get_mark().line + 1) from None
        _raise_issues(root, self.max_nodes)
        return root

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            # An impossible date (2022-02-30) or an over-long integer, with its place.
            raise ConstructorError(
                None, None, f"a value cannot be read: {exc}", node.start_mark
            ) from None

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # Merges are refused when the tree is inspected; this only makes sure no other path
        # ever performs one.
        for key, _ in node.value:
            if key.tag == _TAG + "merge":
                raise ConstructorError(
                    None, None, "merge keys (<<) are not allowed", key.start_mark
                )

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value = str(self.construct_scalar(node))
        if not (value.isdigit() and value.isascii() and value[0] != "0") and (
            not _DECIMAL_INT.fullmatch(value)
        ):  # (the first test is the common case, and quicker than the pattern)
            raise ValueError(f"{shown(value)} is not a decimal integer")
        digits = len(value.lstrip("+-"))
        if digits > MAX_INT_DIGITS:
            raise ValueError(f"an integer of {digits:,} digits (at most {MAX_INT_DIGITS})")
        return int(value)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value = str(self.construct_scalar(node))
        special = _SPECIAL_FLOAT.get(value.lower())
        if special is not None:
            return special
        if not _DECIMAL_FLOAT.fullmatch(value) and not _DECIMAL_INT.fullmatch(value):
            raise ValueError(f"{shown(value)} is not a decimal number")
        return float(value)

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        value = str(self.construct_scalar(node)).lower()
        if value not in ("true", "false"):
            raise ValueError(f"{shown(value)} is not true or false")
        return value == "true"


for _name in ("null", "str", "seq", "map", "timestamp"):
    SafeLoader.add_constructor(_TAG + _name, yaml.SafeLoader.yaml_constructors[_TAG + _name])
SafeLoader.add_constructor(_TAG + "int", SafeLoader.construct_yaml_int)
SafeLoader.add_constructor(_TAG + "float", SafeLoader.construct_yaml_float)
SafeLoader.add_constructor(_TAG + "bool", SafeLoader.construct_yaml_bool)
# Any other tag: PyYAML's "could not determine a constructor" (inspection refuses it first).
SafeLoader.add_constructor(None, yaml.SafeLoader.yaml_constructors[None])

_CParser: Any
try:
    _CParser = importlib.import_module("yaml._yaml").CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

if _CParser is not None:

    class _FastLoader(_CParser, SafeLoader):  # type: ignore[misc]
        """The same loader on libyaml's parser, about fifteen times faster than PyYAML's."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

        def get_single_node(self) -> yaml.Node | None:
            root: yaml.Node | None = _CParser.get_single_node(self)
            _raise_issues(root, self.max_nodes)
            return root

    _LOADER: type[SafeLoader] = _FastLoader
else:  # pragma: no cover - PyYAML built without libyaml
    _LOADER = SafeLoader


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut short: a message stays one readable line whatever the file holds."""
    # (An integer past 4,300 digits cannot even be turned into text.)
    too_long = isinstance(value, int) and value.bit_length() > 4_000
    text = "<a very long integer>" if too_long else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def inspect(root: yaml.Node, max_nodes: int = MAX_NODES) -> list[Issue]:
    """Every disallowed tag, merge key and duplicate key of a composed tree, in file order.

    Raises :class:`YAMLFileError` at once for a shared node (an alias), a tree nested deeper
    than :data:`MAX_DEPTH` or one of more than ``max_nodes`` nodes. Iterative, so neither
    depth nor size can exhaust the stack, and an alias is never followed twice.
    """
    found: list[tuple[int, int, str]] = []  # (line, column, message), sorted at the end
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]

    def visit(node: yaml.Node) -> None:
        if id(node) in seen:
            raise _refuse("YAML anchors and aliases (&name / *name) are not allowed", _line(node))
        seen.add(id(node))
        # Refused on every kind of node, not just scalars:
        # "!!python/object/apply:os.system [...]" is a sequence.
        if node.tag not in _ALLOWED_TAGS:
            mark = node.start_mark
            found.append((mark.line + 1, mark.column, f"the tag {node.tag} is not allowed"))

    visit(root)
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            message = f"the YAML is nested too deeply (more than {MAX_DEPTH} levels)"
            raise _refuse(message, _line(node))
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = node.value
        elif isinstance(node, yaml.MappingNode):
            children = []
            keys: set[str] = set()
            for key, value in node.value:
                children.append(key)
                children.append(value)
                if not isinstance(key, yaml.ScalarNode):
                    continue
                mark = key.start_mark
                if key.value == "<<" and not key.style:  # plain: None, or "" from libyaml
                    # YAML 1.1's merge key: it fills in fields from elsewhere, and a later
                    # field silently overrides one merged in.
                    found.append((mark.line + 1, mark.column, "merge keys (<<) are not allowed"))
                elif key.value in keys:
                    message = f"duplicate key {shown(key.value)}"
                    found.append((mark.line + 1, mark.column, message))
                keys.add(key.value)
        else:
            continue
        for child in children:
            visit(child)
        # Pushed last first, so the tree is gone through in file order.
        stack.extend(
            (c, depth + 1) for c in reversed(children) if not isinstance(c, yaml.ScalarNode)
        )
        if len(seen) > max_nodes:
            raise _refuse(f"the file has more than {max_nodes:,} YAML nodes")
    return [Issue(line, message) for line, _, message in sorted(found)]


def _raise_issues(root: yaml.Node | None, max_nodes: int) -> None:
    if root is not None:
        issues = inspect(root, max_nodes)
        if issues:
            raise YAMLFileError(issues)


_KEY_VALUE = re.compile(r"^(?P<lead>\s*(?:-\s+)?)(?P<key>[\w.-]+):\s+(?P<rest>.*\S)\s*$")
_ITEM = re.compile(r"^(?P<lead>\s*-\s+)(?P<rest>.*\S)\s*$")


def double_quoted(text: str) -> str:
    """``text`` as a double-quoted YAML scalar, for a message that shows how to write it."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quoted_form(source_line: str) -> str | None:
    """``source_line`` with its text quoted, as an editor should write it; None if unclear."""
    found = _KEY_VALUE.match(source_line)
    if found is not None:
        return f"{found['lead'].strip()} {found['key']}: {double_quoted(found['rest'])}".strip()
    found = _ITEM.match(source_line)
    if found is not None:
        return f"- {double_quoted(found['rest'])}"
    return None


def _plain_words(exc: yaml.MarkedYAMLError, line: int | None, source: str) -> str | None:
    """What the parser's complaint means for an editor, or None to keep its own words."""
    problem, context = str(exc.problem or ""), str(exc.context or "")
    began = exc.context_mark.line + 1 if exc.context_mark else None
    if "mapping values are not allowed" in problem:
        hint = "put the text in quotes"
        quoted = _quoted_form(source)
        return "a colon followed by a space inside unquoted text makes YAML read 'key: value'; " + (
            f"{hint}: {quoted}" if quoted else hint
        )
    if "quoted scalar" in context and "end of stream" in problem:
        return f"the quote opened at line {began} is never closed; close it on the same line"
    if "flow sequence" in context or "flow mapping" in context:
        opener = "[" if "sequence" in context else "{"
        closer = "]" if opener == "[" else "}"
        return (
            f"the {opener} opened at line {began} is not closed with {closer}, or two of its "
            "items have no comma between them"
        )
    if "block collection" in context and "'-'" in problem:
        return (
            f"line {line} is indented differently from the list above it (from line {began}); "
            "every item of one list starts its '-' in the same column"
        )
    if "block mapping" in context and "block end" in problem:
        return (
            f"line {line} is not indented like the fields above it (from line {began}); "
            "the fields of one mapping start in the same column"
        )
    if "simple key" in context and "':'" in problem:
        return (
            f"line {began} is text where a 'field: value' or a '- item' belongs "
            "(a missing colon, or a continuation indented like a new field)"
        )
    if "single document" in context:
        return "a second YAML document starts here (a line '---'); the file holds one document"
    return None


def _syntax_issue(exc: yaml.YAMLError, text: str) -> Issue:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Issue(None, f"YAML error: {exc}")
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    if "nesting depth" in str(exc.problem):
        # libyaml's own limit on "[[[[..." a thousand deep.
        return Issue(line, "the YAML is nested too deeply")
    context = exc.context or ""
    if context and exc.context_mark and exc.context_mark.line + 1 != line:
        # Where the unclosed quote or bracket began, often far above the error.
        context += f" (from line {exc.context_mark.line + 1})"
    message = " ".join(str(part) for part in (context, exc.problem) if part)
    lines = text.splitlines()
    source = lines[line - 1] if line is not None and 0 < line <= len(lines) else ""
    if "\t" in source:
        message += " (a tab: YAML indents with spaces only)"
    plain = _plain_words(exc, line, source)
    if "quoted scalar" in context and "end of stream" in str(exc.problem) and exc.context_mark:
        line = exc.context_mark.line + 1  # the end of the file says nothing; the opening does
    if plain is not None:
        # The parser's own words stay, in brackets, for whoever searches the web for them.
        message = f"{plain} (the parser: {message})"
    return Issue(line, f"YAML syntax error: {message}")


def parse(text: str, max_nodes: int = MAX_NODES) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data of one YAML document.

    ``(None, None)`` for a document with no content. Raises :class:`YAMLFileError`: every
    disallowed tag, merge key or duplicate key at once, else the first other problem.
    """
    loader = _LOADER(text)
    loader.max_nodes = max_nodes
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise YAMLFileError([_syntax_issue(exc, text)]) from None
        if root is None:
            return None, None
        try:
            return root, loader.construct_document(root)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = mark.line + 1 if mark else None
            raise _refuse(f"YAML error: {exc.problem}", where) from None
    except YAMLFileError:
        raise
    except yaml.YAMLError as exc:
        raise YAMLFileError([_syntax_issue(exc, text)]) from None
    finally:
        loader.dispose()


def load(text: str, max_nodes: int = MAX_NODES) -> Any:
    """The data of one YAML document (``None`` when empty); see :func:`parse`."""
    return parse(text, max_nodes)[1]


def read_limited(path: Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; else :class:`YAMLFileError`.

    A FIFO, a device (``/dev/zero``) or a folder is refused without reading from it: the
    file is opened non-blocking (a FIFO with no writer would block the open itself) and
    checked on the open descriptor, so it cannot be swapped in between.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _refuse(f"{what} not found") from None
    except OSError as exc:
        raise _refuse(f"cannot read {what}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(f"{what} is not a regular file")
        if info.st_size > limit:
            raise _refuse(f"{what} is {info.st_size:,} bytes; the limit is {limit:,} bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _refuse(f"cannot read {what}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if size > limit:  # it grew after the size check
        raise _refuse(f"{what} is larger than {limit:,} bytes")
    return b"".join(chunks)


def decode(data: bytes, what: str) -> str:
    """UTF-8 text, refusing a byte-order mark and invalid bytes (with the line)."""
    if data.startswith(b"\xef\xbb\xbf"):
        raise _refuse(f"{what} starts with a UTF-8 byte-order mark; save it without one")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _refuse(f"{what} is not valid UTF-8 (byte {exc.start})", line) from None
