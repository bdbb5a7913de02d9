"""A knowledge file's YAML as problems name it: a parse error as problems (with the fact
around its line), and a node's line, child and type.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from bot import safe_yaml
from bot.knowledge_model import KnowledgeError, Problem

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


def refused(error: safe_yaml.YAMLFileError, name: str, text: str = "") -> KnowledgeError:
    return KnowledgeError(
        [
            Problem(name, issue.message, issue.line, _fact_around(text, issue.line))
            for issue in error.issues
        ]
    )


def line_of(mapping_node: yaml.Node, key: str) -> int:
    value = child(mapping_node, key)
    return int((value or mapping_node).start_mark.line) + 1


def folded(node: yaml.Node | None) -> bool:
    """Whether ``node`` is unquoted text that YAML folded together from several lines.

    That is legal (a dumper wraps long lines so), and a mistake when a line in it begins
    with "- ": a new item indented too far."""
    return (
        isinstance(node, yaml.ScalarNode)
        and not node.style  # plain: None, or "" from libyaml
        and node.end_mark.line > node.start_mark.line
    )


def quoted_item(item: dict[Any, Any]) -> str:
    """The one-field mapping YAML made of ``- a: b`` written back as the quoted item."""
    ((key, value),) = item.items()
    text = f"{key}: {value}" if value is not None else f"{key}:"
    return "- " + safe_yaml.double_quoted(text)


def child(mapping_node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node of ``key`` in a mapping node, if there is one."""
    if isinstance(mapping_node, yaml.MappingNode):
        for k, v in mapping_node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
                return v
    return None


def type_name(value: object) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a mapping",
        type(None): "empty",
    }.get(type(value), type(value).__name__)
