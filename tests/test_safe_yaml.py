"""The project's YAML loader (``bot.safe_yaml``), shared by the knowledge and config files."""

from __future__ import annotations

import datetime
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import safe_yaml
from bot.safe_yaml import MAX_DEPTH, SafeLoader, YAMLFileError

BROKEN = Path(__file__).resolve().parent / "data" / "broken"


def refused(text: str, max_nodes: int = safe_yaml.MAX_NODES) -> tuple[safe_yaml.Issue, ...]:
    with pytest.raises(YAMLFileError) as info:
        safe_yaml.load(text, max_nodes)
    assert info.value.issues
    for issue in info.value.issues:
        assert "\n" not in issue.message and len(issue.message) < 300
    return info.value.issues


def both(text: str) -> list[Any]:
    """The value as the fast loader and as the pure-Python ``SafeLoader`` read it."""
    return [safe_yaml.load(text), yaml.load(text, Loader=SafeLoader)]


# --- what plain scalars mean ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12),
        ("-3", -3),
        ("+7", 7),
        ("0", 0),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("1.5e+3", 1500.0),
        ("2.5E-1", 0.25),
        ("1.0e+17", 1e17),
        (".inf", math.inf),
        ("-.inf", -math.inf),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("2022-07-07", datetime.date(2022, 7, 7)),
        # YAML 1.1 readings that are text here
        ("1:0:0", "1:0:0"),
        ("10:30", "10:30"),
        ("0x1F", "0x1F"),
        ("0o17", "0o17"),
        ("017", "017"),
        ("007", "007"),
        ("0b101", "0b101"),
        ("1_000", "1_000"),
        ("1:30.5", "1:30.5"),
        ("yes", "yes"),
        ("No", "No"),
        ("on", "on"),
        ("OFF", "OFF"),
        ("y", "y"),
        ("=", "="),
        ("<<", "<<"),
        ("1e3", "1e3"),  # text in YAML 1.1 too: no dot
        ("1.5e3", "1.5e3"),  # nor a signed exponent
        ("Who met whom?", "Who met whom?"),
    ],
)
def test_plain_scalars(text: str, value: object) -> None:
    for got in both(f"key: {text}\n"):
        assert got == {"key": value}
        assert type(got["key"]) is type(value)


def test_nan() -> None:
    assert all(math.isnan(got["a"]) for got in both("a: .nan\n"))


def test_quoted_scalars_are_always_text() -> None:
    for got in both("a: '12'\nb: \"true\"\nc: '2022-07-07'\n"):
        assert got == {"a": "12", "b": "true", "c": "2022-07-07"}


@pytest.mark.parametrize(
    ("text", "piece"),
    [
        ("a: !!int 0x1F\n", "'0x1F' is not a decimal integer"),
        ("a: !!int 1:0:0\n", "'1:0:0' is not a decimal integer"),
        ("a: !!float 1:30.5\n", "'1:30.5' is not a decimal number"),
        ("a: !!bool yes\n", "'yes' is not true or false"),
        ("a: 2022-02-30\n", "day is out of range for month"),
        ("a: " + "9" * 101 + "\n", "an integer of 101 digits (at most 100)"),
        ("a: -" + "9" * 5000 + "\n", "an integer of 5,000 digits (at most 100)"),
    ],
)
def test_unreadable_values_are_one_line_with_the_place(text: str, piece: str) -> None:
    (issue,) = refused("x: 1\n" + text)
    assert issue.line == 2
    assert issue.message == f"YAML error: a value cannot be read: {piece}"


def test_the_longest_integer_allowed() -> None:
    assert safe_yaml.load("a: " + "9" * 100) == {"a": int("9" * 100)}


# --- tags, merges, duplicates, aliases ------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system",
        "!!python/name:os.system",
        "!!binary",
        "!!set",
        "!!omap",
        "!!merge",
        "!!value",
        "!include",
        "!<tag:example.com,2000:x>",
    ],
)
def test_only_the_plain_tags_are_allowed(tag: str) -> None:
    (issue,) = refused(f"a: 1\nb: {tag} [x]\n")
    assert issue.line == 2
    assert issue.message.startswith("the tag ") and issue.message.endswith(" is not allowed")


def test_explicit_standard_tags_are_fine() -> None:
    text = "a: !!str 0x1F\nb: !!int 12\nc: !!float 1.5\nd: !!seq [1]\ne: !!map {f: !!null ~}\n"
    for got in both(text):
        assert got == {"a": "0x1F", "b": 12, "c": 1.5, "d": [1], "e": {"f": None}}


def test_merge_keys_are_refused_and_would_have_hidden_a_field() -> None:
    text = "answer: Babayev met Yanik.\n<<: {answer: They met in Istanbul.}\n"
    assert yaml.safe_load(text) == {"answer": "Babayev met Yanik."}  # PyYAML: silently merged
    (issue,) = refused(text)
    assert issue == safe_yaml.Issue(2, "merge keys (<<) are not allowed")
    with pytest.raises(YAMLFileError, match="merge keys"):
        yaml.load(text, Loader=SafeLoader)


def test_a_quoted_double_angle_key_is_just_text() -> None:
    assert both("'<<': 1\n") == [{"<<": 1}, {"<<": 1}]


def test_every_tag_merge_and_duplicate_is_listed_in_file_order() -> None:
    text = "a: 1\nb: !x 2\nc: {d: 1, d: 2}\n<<: {}\na: 3\n"
    assert [(i.line, i.message) for i in refused(text)] == [
        (2, "the tag !x is not allowed"),
        (3, "duplicate key 'd'"),
        (4, "merge keys (<<) are not allowed"),
        (5, "duplicate key 'a'"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",
        "a: &x [1, 2]\nb: [*x]\n",
        "a: &x {b: 1}\nc: {<<: *x}\n",
        "a: &x [*x]\n",  # refers to itself
    ],
)
def test_aliases_are_refused(text: str) -> None:
    (issue,) = refused(text)
    assert issue.message == "YAML anchors and aliases (&name / *name) are not allowed"


def test_the_billion_laughs_are_refused_at_once() -> None:
    bomb = (BROKEN / "alias_bomb.yaml").read_text(encoding="utf-8")
    started = time.process_time()
    (issue,) = refused(bomb)
    assert "aliases" in issue.message
    assert time.process_time() - started < 0.1


# --- size and depth -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "levels",
    # Python's recursion limit is about 1,000 frames: the fast loop keeps the shallow cases.
    [MAX_DEPTH + 1, 100] + [pytest.param(n, marks=pytest.mark.slow) for n in (990, 1_000, 100_000)],
)
@pytest.mark.parametrize("shape", ["[{}]", "{{a: {}}}", "{{<<: {}}}"])
def test_deep_nesting_is_one_line_never_a_recursion_error(levels: int, shape: str) -> None:
    opening, closing = shape.split("{}")
    text = "top: " + opening * levels + "x" + closing * levels + "\n"
    for load in (safe_yaml.load, lambda t: yaml.load(t, Loader=SafeLoader)):
        with pytest.raises(YAMLFileError) as info:
            load(text)
        (issue,) = info.value.issues
        assert issue.line == 1
        assert issue.message.startswith("the YAML is nested too deeply")


def test_nesting_up_to_the_limit_loads() -> None:
    text = "[" * MAX_DEPTH + "x" + "]" * MAX_DEPTH
    value: Any = safe_yaml.load(text)
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == ["x"]


def test_node_limit() -> None:
    text = "".join(f"- {i}\n" for i in range(100))
    assert len(safe_yaml.load(text, max_nodes=101)) == 100
    (issue,) = refused(text, max_nodes=100)
    assert issue.message == "the file has more than 100 YAML nodes"


# --- syntax errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "piece"),
    [
        # Reported where the quote opened: the end of the file says nothing.
        ("a: 'open\nb: 2\n", 1, "the quote opened at line 1 is never closed"),
        ("a: [1, 2\n", 2, "while parsing a flow sequence (from line 1)"),
        ("a:\n\tb: 1\n", 2, "(a tab: YAML indents with spaces only)"),
        ("a: 1\n---\nb: 2\n", 2, "expected a single document"),
    ],
)
def test_syntax_errors(text: str, line: int, piece: str) -> None:
    (issue,) = refused(text)
    assert issue.line == line
    assert issue.message.startswith("YAML syntax error") and piece in issue.message


def test_empty_documents() -> None:
    assert safe_yaml.parse("") == (None, None)
    assert safe_yaml.parse("# only a comment\n") == (None, None)


def test_pyyaml_itself_is_unchanged() -> None:
    assert yaml.safe_load("a: 1:0:0\nb: yes\n") == {"a": 3600, "b": True}


# --- reading the file -----------------------------------------------------------------------


def read_refused(path: Path, limit: int = 1_000) -> str:
    with pytest.raises(YAMLFileError) as info:
        safe_yaml.read_limited(path, limit, "config file")
    (issue,) = info.value.issues
    return issue.message


def test_read_limited(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"x" * 1_000)
    assert safe_yaml.read_limited(path, 1_000, "config file") == b"x" * 1_000
    path.write_bytes(b"x" * 1_001)
    assert read_refused(path) == "config file is 1,001 bytes; the limit is 1,000 bytes"
    assert read_refused(tmp_path / "nope") == "config file not found"
    assert read_refused(tmp_path) == "config file is not a regular file"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_is_refused_without_reading() -> None:
    assert read_refused(Path("/dev/zero")) == "config file is not a regular file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "bot.yaml"
    os.mkfifo(fifo)
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(read_refused(fifo)), daemon=True)
    worker.start()
    worker.join(5)  # a plain open() would wait here for a writer forever
    assert result == ["config file is not a regular file"]


def test_decode() -> None:
    assert safe_yaml.decode("ə: ş\n".encode(), "config file") == "ə: ş\n"
    with pytest.raises(YAMLFileError, match="starts with a UTF-8 byte-order mark"):
        safe_yaml.decode(b"\xef\xbb\xbfa: 1\n", "config file")
    with pytest.raises(YAMLFileError) as info:
        safe_yaml.decode(b"a: 1\nb: caf\xe9\n", "config file")
    assert info.value.issues == (safe_yaml.Issue(2, "config file is not valid UTF-8 (byte 11)"),)


def test_what_pyyaml_writes_reads_back_the_same() -> None:
    """Tests and tools write these files with ``yaml.safe_dump``; nothing may change type."""
    values: list[Any] = [
        *(1e17, 1.5, -0.0, 1e-7, 12, -3, 0, True, False, None, math.inf),
        *("yes", "No", "on", "1:0", "10:30", "0x1F", "017", "0b1", "1e3", "1_000", "+5"),
        *("~", "", "null", "=", "<<", ".5", "1.", "TRUE", "y", "2022-07-07", "12"),
        datetime.date(2022, 7, 7),
    ]
    back = safe_yaml.load(yaml.safe_dump({"v": values}, allow_unicode=True))["v"]
    assert [(type(v), v) for v in back] == [(type(v), v) for v in values]
