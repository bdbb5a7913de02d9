"""The JSON Schemas of the knowledge and lexicon files (``bot/schema.py``) and the loader agree.

The schemas are generated from ``bot/knowledge_checks.py``; the shipped files must be what it
generates, the shipped knowledge must pass them, and on the broken corpus of
``tests/data/broken/`` every file the loader refuses for a structural reason is refused by
the schema too, while each file refused for a reason no schema can see is listed with it.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bot import safe_yaml, schema
from bot.knowledge_checks import MAX_LABEL_CHARS, MAX_YAML_NODES
from bot.knowledge_load import load_knowledge
from bot.knowledge_model import KnowledgeError
from bot.knowledge_parse import parse_knowledge

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
FACTS = KNOWLEDGE / "facts.yaml"
LEXICONS = sorted((KNOWLEDGE / "lexicon").glob("*.yaml"))
ARTICLE = KNOWLEDGE / "article.txt"
BROKEN = ROOT / "tests" / "data" / "broken"

STRUCTURAL: dict[str, tuple[str | int, ...]] = {
    # file -> where in the data (a JSON path) the schema refuses it, as the loader does
    "answer_too_long.yaml": ("facts", 0, "answer"),
    "bad_id_slug.yaml": ("facts", 0, "id"),
    "colon_in_item.yaml": ("facts", 0, "questions", 1),  # a mapping, not a string
    "empty.yaml": (),  # null: the top level must be a mapping with facts
    "comment_only.yaml": (),
    "empty_facts_list.yaml": ("facts",),
    "empty_phrasing.yaml": ("facts", 0, "questions", 1),
    "whitespace_phrasing.yaml": ("facts", 0, "questions", 1),
    "empty_questions_list.yaml": ("facts", 0, "questions"),
    "integer_base60.yaml": ("version",),  # YAML 1.1 integers are text here
    "integer_octal.yaml": ("version",),
    "integer_hex.yaml": ("facts", 0, "id"),
    "integer_binary.yaml": ("facts", 0, "id"),
    "missing_facts.yaml": (),
    "missing_id.yaml": ("facts", 0),
    "missing_questions.yaml": ("facts", 0),
    "missing_answer.yaml": ("facts", 0),
    "missing_quote.yaml": ("facts", 0),
    "type_answer_number.yaml": ("facts", 0, "answer"),
    "type_facts_not_list.yaml": ("facts",),
    "type_keywords_mapping.yaml": ("facts", 0, "keywords"),
    "type_questions_string.yaml": ("facts", 0, "questions"),
    "type_top_level_list.yaml": (),
    "unknown_answer_language.yaml": ("facts", 0, "answers"),
    "unknown_chit_chat_intent.yaml": ("chit_chat",),
    "unknown_fact_field.yaml": ("facts", 0),
    "unknown_source_field.yaml": ("source",),
    "unknown_top_level_field.yaml": (),
    "version_unsupported.yaml": ("version",),
}
"""Refused by the loader for a structural reason, and so by the schema."""

BEYOND_SCHEMA: dict[str, str] = {
    # file -> why the loader refuses it and the schema (which accepts its data) cannot
    "alias_chain.yaml": "a variant that is itself an alias word: across entries, and files",
    "alias_variant_conflict.yaml": "a variant under two alias words: across entries and files",
    "duplicate_ids.yaml": "the same id twice: items compared by one field",
    "examples_unknown_id.yaml": "an examples: entry that names no fact: a cross-reference",
    "folded_item.yaml": "two items YAML joined into one text by their indentation: layout",
    "punctuation_phrasing.yaml": "a phrasing with no words: the matcher's tokenizer",
    "repeated_phrasing.yaml": "the same phrasing in other case: the matcher's normalisation",
    "quote_not_in_article.yaml": "a quote not in the article",
    "quote_straight_apostrophe.yaml": "a quote not in the article (a look-alike character)",
    "quote_cyrillic_letter.yaml": "a quote not in the article (a Cyrillic look-alike letter)",
    "quote_misremembered.yaml": "a quote not in the article (one word misremembered)",
    "quote_refused_example.yaml": "a quote not in the article, named in examples:",
    "quote_one_letter.yaml": "a quote that begins and ends inside an article word",
    "quote_part_word.yaml": "a quote that begins and ends inside an article word",
    "quote_one_word.yaml": "a quote of fewer than three article words",
}
"""Refused by the loader for a reason a schema cannot see; the schema accepts the data."""

NOT_DATA: dict[str, str] = {
    # file -> why it never becomes data a schema could see (safe_yaml refuses it)
    "syntax_bad_indentation.yaml": "YAML syntax",
    "syntax_colon_in_plain_scalar.yaml": "YAML syntax",
    "syntax_tab_indentation.yaml": "YAML syntax",
    "syntax_two_documents.yaml": "YAML syntax: two documents",
    "syntax_unclosed_flow.yaml": "YAML syntax",
    "syntax_unclosed_quote.yaml": "YAML syntax",
    "whitespace_only.yaml": "blank (the loader calls it empty; YAML refuses its tab)",
    "non_utf8.yaml": "encoding: not UTF-8",
    "utf8_bom.yaml": "encoding: a byte-order mark",
    "duplicate_keys.yaml": "a duplicate key: the data would hold one of the two",
    "alias_bomb.yaml": "hostile YAML: anchors and aliases",
    "custom_tag.yaml": "hostile YAML: a tag",
    "python_name.yaml": "hostile YAML: a Python tag",
    "python_object_apply.yaml": "hostile YAML: a Python tag",
    "merge_key.yaml": "hostile YAML: a merge key",
    "merge_deep.yaml": "hostile YAML: nested merge keys",
    "deep_nesting.yaml": "hostile YAML: nested too deeply",
    "huge_integer.yaml": "a value YAML cannot read: an integer of 5,000 digits",
    "impossible_date.yaml": "a value YAML cannot read: 2022-02-30",
}
"""Refused before there is any data: YAML syntax, encoding, hostile YAML."""


def _json_terms(value: Any) -> Any:
    """The data as a language server sees it: mapping keys and dates are text."""
    if isinstance(value, dict):
        return {
            (key if isinstance(key, str) else json.dumps(key, default=str)): _json_terms(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_json_terms(item) for item in value]
    if isinstance(value, datetime.date):  # datetime.datetime too
        return value.isoformat()
    return value


def _data(path: Path) -> Any:
    """The file's data as the loader reads it (``safe_yaml``), in JSON terms."""
    text = safe_yaml.decode(path.read_bytes(), "knowledge file")
    return _json_terms(safe_yaml.load(text, MAX_YAML_NODES))


@pytest.fixture(scope="module")
def facts() -> Draft202012Validator:
    return Draft202012Validator(schema.facts_schema())


@pytest.fixture(scope="module")
def lexicon() -> Draft202012Validator:
    return Draft202012Validator(schema.lexicon_schema())


@pytest.fixture(scope="module")
def article() -> str:
    return ARTICLE.read_text(encoding="utf-8")


def _errors(validator: Draft202012Validator, data: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)
    ]


# --- the shipped files ---------------------------------------------------------------------


def test_shipped_schema_files_are_what_bot_schema_generates() -> None:
    """A rule changed in bot/knowledge_checks.py fails here until `python -m bot.schema` is run."""
    for name, text in schema.rendered().items():
        shipped = (schema.SCHEMA_DIR / name).read_text(encoding="utf-8")
        assert shipped == text, f"{name} is stale: run python -m bot.schema"
    assert schema.main(["--check"]) == 0


def test_check_says_to_regenerate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert schema.main(["--check"], directory=tmp_path) == 1
    assert schema.main([], directory=tmp_path) == 0
    assert schema.main(["--check"], directory=tmp_path) == 0
    (tmp_path / schema.LEXICON_FILE).write_text("{}\n", encoding="utf-8")
    capsys.readouterr()
    assert schema.main(["--check"], directory=tmp_path) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "re-run python -m bot.schema" in lines[0], lines
    assert schema.LEXICON_FILE in lines[0] and schema.FACTS_FILE not in lines[0]


def test_written_files_are_indented_and_in_order(tmp_path: Path) -> None:
    schema.main([], directory=tmp_path)
    text = (tmp_path / schema.FACTS_FILE).read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "$schema": ')
    loaded = json.loads(text)
    assert loaded == schema.facts_schema()
    assert list(loaded["properties"]) == list(schema.TOP_LEVEL)  # the loader's order


@pytest.mark.parametrize("build", [schema.facts_schema, schema.lexicon_schema])
def test_schema_is_valid_against_its_metaschema(build: Callable[[], dict[str, Any]]) -> None:
    document = build()
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(document)
    assert "checked by `python -m bot check`" in document["description"].lower()


def test_every_property_has_a_description() -> None:
    """What an editor shows on hover: every property of both schemas says what it is."""

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                assert isinstance(sub.get("description"), str), f"{where}.{name}"
            for key, sub in node.items():
                if key not in ("if", "then", "else"):  # conditions, not what is shown
                    walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for index, sub in enumerate(node):
                walk(sub, f"{where}[{index}]")

    walk(schema.facts_schema(), "facts")
    walk(schema.lexicon_schema(), "lexicon")


def test_yaml_files_name_their_schema() -> None:
    first = FACTS.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=schema/facts.schema.json"
    assert (FACTS.parent / "schema" / "facts.schema.json").is_file()
    assert LEXICONS
    for path in LEXICONS:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema/lexicon.schema.json"
        assert (path.parent / "../schema/lexicon.schema.json").resolve().is_file()


def test_shipped_facts_file_validates(facts: Draft202012Validator) -> None:
    data = _data(FACTS)
    assert isinstance(data["source"]["date"], str)  # quoted in the file
    assert _errors(facts, data) == []


@pytest.mark.parametrize("path", LEXICONS, ids=[p.name for p in LEXICONS])
def test_shipped_lexicon_file_validates(path: Path, lexicon: Draft202012Validator) -> None:
    assert _errors(lexicon, _data(path)) == []


# --- the broken corpus: the schema and the loader agree ------------------------------------


def test_every_broken_file_is_classified() -> None:
    present = {p.name for p in BROKEN.iterdir() if p.is_file()}
    lists = (set(STRUCTURAL), set(BEYOND_SCHEMA), set(NOT_DATA))
    assert sum(len(names) for names in lists) == len(set().union(*lists)), "listed twice"
    assert set().union(*lists) == present


@pytest.mark.parametrize("name", sorted(STRUCTURAL))
def test_structural_refusal_is_the_schemas_too(name: str, facts: Draft202012Validator) -> None:
    path = BROKEN / name
    with pytest.raises(KnowledgeError):
        load_knowledge(path, ARTICLE)
    errors = list(facts.iter_errors(_data(path)))
    assert errors, f"{name}: the loader refuses it, the schema accepts it"
    assert {tuple(e.absolute_path) for e in errors} == {STRUCTURAL[name]}, [
        e.message for e in errors
    ]


@pytest.mark.parametrize("name", sorted(BEYOND_SCHEMA))
def test_refusal_beyond_a_schema(name: str, facts: Draft202012Validator) -> None:
    """The loader refuses these, the schema cannot: if it comes to, move the file."""
    path = BROKEN / name
    with pytest.raises(KnowledgeError):
        load_knowledge(path, ARTICLE)
    assert _errors(facts, _data(path)) == [], f"{name} is structural now: move it"


@pytest.mark.parametrize("name", sorted(NOT_DATA))
def test_refused_before_there_is_data(name: str) -> None:
    path = BROKEN / name
    with pytest.raises(KnowledgeError):
        load_knowledge(path, ARTICLE)
    with pytest.raises(safe_yaml.YAMLFileError):
        _data(path)


# --- toy documents: both say yes, or both say no -------------------------------------------

FACT = """\
facts:
  - id: meeting_participants
    questions:
      - {question}
    answer: Babayev met Yanik online.
    quote: "The discussion took place during the online meeting"
"""
AT_THE_LIMIT = "Which ministers took part in the online meeting?"
ONE_OVER = "Who took part in the online meeting of ministers?"


def _fact(question: str = "Who met whom?", more: str = "") -> str:
    return FACT.format(question=question) + more


DATED = 'source: {title: T, outlet: O, author: A, date: "2022-07-07"}\n'

TOYS: dict[str, tuple[str, bool]] = {
    # name -> (facts file, valid)
    "minimal": (_fact(), True),
    "version 1": ("version: 1\n" + _fact(), True),
    "version 2": ("version: 2\n" + _fact(), False),
    "empty optional sections": (
        "aliases:\nstopwords:\nchit_chat:\nexamples:\nunanswerable:\npeople:\nlexicon:\n"
        + _fact(more="    keywords:\n    answers:\n    labels:\n"),
        True,
    ),
    "labels": (_fact(more='    labels: {en: "Who met?", tr: "Kim kiminle görüştü?"}\n'), True),
    "labels fr": (_fact(more='    labels: {fr: "Qui a rencontré qui ?"}\n'), False),
    "label at the limit": (_fact(more=f'    labels: {{en: "{AT_THE_LIMIT}"}}\n'), True),
    "label one over": (_fact(more=f'    labels: {{en: "{ONE_OVER}"}}\n'), False),
    "labels.en no question": (_fact(more="    labels: {en: Who met whom}\n"), False),
    "first phrasing no question": (_fact("who met whom"), False),
    "labels.en asks instead": (_fact("who met whom", "    labels: {en: Who met?}\n"), True),
    "answers fr": (_fact(more="    answers: {fr: Babayev a rencontré Yanik.}\n"), False),
    "people": ("people: {Sahil Babayev: he, Derya Yanik: she}\n" + _fact(), True),
    "people it": ("people: {Sahil Babayev: it}\n" + _fact(), False),
    "source without url": (DATED + _fact(), True),
    "source unquoted date": (DATED.replace('"2022-07-07"', "2022-07-07") + _fact(), True),
    "source empty title": (DATED.replace("title: T", 'title: " "') + _fact(), False),
    "alias variants null": ("aliases:\n  turkiye:\n" + _fact(), False),
    "chit_chat greeting": ("chit_chat: {greeting: [hello]}\n" + _fact(), True),
    "examples": ("examples: [meeting_participants]\n" + _fact(), True),
    "examples not a slug": ("examples: [Meeting]\n" + _fact(), False),
}


def _loader_accepts(text: str, article: str, lexicon: str | None = None) -> bool:
    def read(listed: str) -> tuple[str, str]:
        assert lexicon is not None
        return listed, lexicon

    try:
        parse_knowledge(text, article, read_lexicon=read)
    except KnowledgeError:
        return False
    return True


def test_toy_labels_are_at_and_over_the_limit() -> None:
    assert len(AT_THE_LIMIT) == MAX_LABEL_CHARS
    assert len(ONE_OVER) == MAX_LABEL_CHARS + 1 == 49


@pytest.mark.parametrize("name", sorted(TOYS))
def test_toy_facts_file(name: str, facts: Draft202012Validator, article: str) -> None:
    text, valid = TOYS[name]
    errors = _errors(facts, _json_terms(safe_yaml.load(text)))
    assert (errors == []) is valid, errors
    assert _loader_accepts(text, article) is valid


RELATIVE_YEARS = {
    # a key as YAML writes it -> whether it is a whole number of years from -50 to 50
    **dict.fromkeys(["-50", "-49", "-10", "-9", "-1", "-0", "0", "+1", "1", "9", "10"], True),
    **dict.fromkeys(["19", "20", "40", "49", "50", "+50"], True),
    **dict.fromkeys(["-51", "51", "60", "100", "500", "05", "1.0", "1e1", "one", "-"], False),
}


@pytest.mark.parametrize("key", sorted(RELATIVE_YEARS))
def test_relative_years_keys(key: str, facts: Draft202012Validator, article: str) -> None:
    """The key pattern (bot.schema's copy of the loader's -50..50) and the loader agree."""
    valid = RELATIVE_YEARS[key]
    text = DATED + f"relative_years: {{{key}: [that year]}}\n" + _fact()
    assert _loader_accepts(text, article) is valid
    errors = _errors(facts, _json_terms(safe_yaml.load(text)))
    assert (errors == []) is valid, errors
    # As written (the JSON terms above print "+1" as "1").
    names = schema.facts_schema()["properties"]["relative_years"]["propertyNames"]
    assert Draft202012Validator(names).is_valid(key) is valid


LEXICON_TOYS: dict[str, tuple[str, bool]] = {
    "minimal": ("language: tr\n", True),
    "full": (
        "version: 1\nlanguage: ru\naliases: {турция: [турции]}\nstopwords: [и]\n"
        "chit_chat: {thanks: [спасибо]}\nrelative_years: {-1: [прошлый год]}\n",
        True,
    ),
    "without language": ("aliases: {turkiye: [turkey]}\n", False),
    "language fr": ("language: fr\n", False),
    "unknown field": ("language: en\nfacts: []\n", False),
    "intent insult": ("language: en\nchit_chat: {insult: [dumb]}\n", False),
}


@pytest.mark.parametrize("name", sorted(LEXICON_TOYS))
def test_toy_lexicon_file(name: str, lexicon: Draft202012Validator, article: str) -> None:
    text, valid = LEXICON_TOYS[name]
    errors = _errors(lexicon, _json_terms(safe_yaml.load(text)))
    assert (errors == []) is valid, errors
    facts_file = DATED + "lexicon: [lexicon/xx.yaml]\n" + _fact()
    assert _loader_accepts(facts_file, article, text) is valid


def test_a_loader_field_without_a_schema_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A field the loader learns must be described here before the schema builds."""
    monkeypatch.setitem(schema.FACT_FIELDS, "colour", False)
    with pytest.raises(LookupError, match="colour"):
        schema.facts_schema()
