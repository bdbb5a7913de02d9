"""Loading and validating the knowledge base: the real one loads, every broken one is refused."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import bot.knowledge_load as knowledge_load
from bot.config import load_settings
from bot.knowledge_checks import LANGUAGES, MAX_LABEL_CHARS
from bot.knowledge_load import MAX_ARTICLE_BYTES, MAX_FILE_BYTES, load_knowledge
from bot.knowledge_model import KnowledgeBase, KnowledgeError
from bot.knowledge_parse import parse_knowledge

ROOT = Path(__file__).resolve().parent.parent
FACTS = ROOT / "knowledge" / "facts.yaml"
ARTICLE = ROOT / "knowledge" / "article.txt"
BROKEN = ROOT / "tests" / "data" / "broken"
SHARED_ARTICLE = ROOT.parent / "shared" / "article.txt"
"""The article as the project was given it; CI checks the clone out beside ``shared/``."""
ARTICLE_SHA256 = "ddece4feeb9195e880b9f774fc8edfb750f378580725c141e1a2e5bc1da1d902"

QUOTE = "The discussion took place during the online meeting"
VALID = f"""\
facts:
  - id: meeting_participants
    questions:
      - Who met whom?
    answer: Babayev met Yanik online.
    quote: "{QUOTE}"
"""

# Every file of tests/data/broken: (a piece of the message, the line it is reported at,
# or None where the loader cannot know one).
EXPECTED: dict[str, tuple[str, int | None]] = {
    # YAML syntax errors
    "syntax_unclosed_quote.yaml": ("the quote opened at line 4 is never closed", 4),
    "syntax_bad_indentation.yaml": ("YAML syntax error: line 5 is indented differently", 5),
    "syntax_tab_indentation.yaml": ("a tab: YAML indents with spaces only", 4),
    "syntax_unclosed_flow.yaml": ("YAML syntax error: the [ opened at line 3 is not closed", 4),
    "syntax_colon_in_plain_scalar.yaml": ('in quotes: answer: "Babayev met: Yanik"', 5),
    "syntax_two_documents.yaml": ("a second YAML document starts here", 7),
    "deep_nesting.yaml": ("nested too deeply", 1),
    # wrong types
    "type_top_level_list.yaml": ("the top level must be a mapping, not a list", 1),
    "type_facts_not_list.yaml": ("'facts' must be a list, not a mapping", 2),
    "type_questions_string.yaml": ("questions must be a list of strings, not a string", 3),
    "type_answer_number.yaml": ("answer must be a string, not a number", 5),
    "type_keywords_mapping.yaml": ("keywords must be a list of strings, not a mapping", 8),
    "impossible_date.yaml": ("a value cannot be read: day is out of range for month", 5),
    "huge_integer.yaml": ("a value cannot be read", 5),
    # missing fields
    "missing_facts.yaml": ("missing field 'facts' in the top level", 1),
    "missing_id.yaml": ("missing field 'id' in facts #1", 2),
    "missing_questions.yaml": ("missing field 'questions' in facts #1", 2),
    "missing_answer.yaml": ("missing field 'answer' in facts #1", 2),
    "missing_quote.yaml": ("missing field 'quote' in facts #1", 2),
    # unknown fields and values
    "unknown_top_level_field.yaml": ("unknown field 'fact' in the top level", 1),
    "unknown_fact_field.yaml": ("unknown field 'answr' in facts #1", 2),
    "unknown_source_field.yaml": ("unknown field 'publisher' in source", 2),
    "unknown_answer_language.yaml": ("unknown language code 'fr'", 8),
    "unknown_chit_chat_intent.yaml": ("unknown intent 'insult'", 2),
    "version_unsupported.yaml": ("version 2 is not supported", 1),
    # duplicates
    "duplicate_ids.yaml": ("duplicate id (first used at line 2)", 7),
    "duplicate_keys.yaml": ("duplicate key 'answer'", 7),
    "repeated_phrasing.yaml": ("questions #2 repeats an earlier one", 5),
    # empty phrasings and lists
    "empty_phrasing.yaml": ("questions #2 is empty", 5),
    "whitespace_phrasing.yaml": ("questions #2 is empty", 5),
    "punctuation_phrasing.yaml": ("questions #2 has no words", 5),
    "empty_questions_list.yaml": ("questions is an empty list", 3),
    "empty_facts_list.yaml": ("'facts' is empty", 2),
    # answers and quotes
    "quote_not_in_article.yaml": ("quote is not in the article word for word", 6),
    # The article has a curly apostrophe (U+2019) in "Azerbaijan's second-largest investor".
    "quote_straight_apostrophe.yaml": (
        "' (U+0027 APOSTROPHE) where the article has ’ (U+2019 RIGHT SINGLE QUOTATION MARK)",
        6,
    ),
    # in the article, but proof of nothing
    "quote_one_letter.yaml": ("quote must be whole words of the article", 6),
    "quote_part_word.yaml": ("quote must be whole words of the article", 6),
    "quote_one_word.yaml": ("quote is 1 word(s) long; it must be at least 3 words", 6),
    "answer_too_long.yaml": ("answer is 208 characters; at most 200", 5),
    "bad_id_slug.yaml": ("id 'Meeting-Participants' must be a slug", 2),
    # empty files
    "empty.yaml": ("the file is empty", None),
    "whitespace_only.yaml": ("the file is empty", None),
    "comment_only.yaml": ("the file is empty", None),
    # encodings
    "non_utf8.yaml": ("knowledge file is not valid UTF-8 (byte 100)", 5),
    "utf8_bom.yaml": ("byte-order mark", None),
    # hostile YAML
    "alias_bomb.yaml": ("anchors and aliases (&name / *name) are not allowed", 1),
    "python_object_apply.yaml": (
        "the tag tag:yaml.org,2002:python/object/apply:os.system is not allowed",
        5,
    ),
    "python_name.yaml": ("the tag tag:yaml.org,2002:python/name:os.system is not allowed", 5),
    "custom_tag.yaml": ("the tag !include is not allowed", 1),
    # YAML 1.1 integers are text here; thousands of digits once crashed the messages
    "integer_base60.yaml": ("version '1:0:0:0:", 1),
    "integer_hex.yaml": ("id '0xffff", 2),
    "integer_octal.yaml": ("version '07777", 1),
    "integer_binary.yaml": ("id '0b1111", 2),
    # merge keys: one hid a second "answer"; 990 nested ones overflowed the stack
    "merge_key.yaml": ("merge keys (<<) are not allowed", 7),
    "merge_deep.yaml": ("the YAML is nested too deeply (more than 32 levels)", 7),
    # aliases
    "alias_variant_conflict.yaml": ("alias variant 'tr' is listed under both", 3),
    # mistakes that once passed silently or misled (issue 12)
    "folded_item.yaml": ("questions #1 runs over lines 4-5, and YAML joins them", 4),
    "colon_in_item.yaml": ('put the text in quotes: - "Who met: the ministers?"', 5),
    "quote_cyrillic_letter.yaml": (
        "о (U+043E CYRILLIC SMALL LETTER O) where the article has o (U+006F LATIN SMALL",
        6,
    ),
    "quote_misremembered.yaml": (
        "the nearest article text is 'So far, Turkiye is Azerbaijan’s second-largest "
        "investor'; the differences ([-article-] {+yours+}): So far, Turk[-i-]{+e+}y[-e-] is",
        6,
    ),
    # one mistake, one message: no "examples: 'investor_rank' is not a fact id" after it
    "quote_refused_example.yaml": ("differs only in look-alike characters", 12),
    "alias_chain.yaml": ("is itself the canonical word 'turkey'; aliases do not chain", 2),
    # cross references
    "examples_unknown_id.yaml": ("examples: 'trade_turnover_2021' is not a fact id", 1),
}


def _refusal(path: Path, article: Path = ARTICLE) -> KnowledgeError:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(path, article)
    return info.value


def _write(tmp_path: Path, text: str, name: str = "facts.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(FACTS, ARTICLE)


# --- the broken corpus ---------------------------------------------------------------------


def test_every_broken_file_has_an_expectation() -> None:
    present = {p.name for p in BROKEN.iterdir() if p.is_file()}
    assert present == set(EXPECTED)
    assert len(present) >= 25


def test_encoding_cases_keep_their_bytes() -> None:
    """Guard against an editor "fixing" the files that are broken on purpose."""
    assert (BROKEN / "utf8_bom.yaml").read_bytes().startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        (BROKEN / "non_utf8.yaml").read_bytes().decode("utf-8")
    assert (BROKEN / "empty.yaml").stat().st_size == 0
    assert "\t" in (BROKEN / "syntax_tab_indentation.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_is_refused(name: str) -> None:
    path = BROKEN / name
    message, line = EXPECTED[name]
    error = _refusal(path)
    text = str(error)
    # Each file holds one mistake, and one mistake is one message, never a cascade.
    assert len(error.problems) == 1, text
    assert message in text
    assert str(path) in text
    assert error.problems
    assert all(problem.file == str(path) for problem in error.problems)
    found = [problem for problem in error.problems if message in problem.message]
    assert found, text
    if line is not None:
        assert any(problem.line == line for problem in found), text
        assert f"{path}:{line}:" in text


def test_python_tags_are_never_executed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def system(*args: object) -> int:
        calls.append(args)
        return 0

    monkeypatch.setattr(os, "system", system)
    for name in ("python_object_apply.yaml", "python_name.yaml"):
        _refusal(BROKEN / name)
    assert calls == []


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = """\
facts:
  - id: Bad-Id
    questions:
      - Who met whom?
    answer: Babayev met Yanik online.
    quote: "Babayev met Yanik in Istanbul"
  - id: second
    questions: []
    answer: 42
    quote: "date 2022-07-07 By Azernews"
    colour: blue
"""
    error = _refusal(_write(tmp_path, text))
    messages = "\n".join(problem.message for problem in error.problems)
    for piece in (
        "must be a slug",
        "quote is not in the article",
        "questions is an empty list",
        "answer must be a string, not a number",
        "unknown field 'colour'",
    ):
        assert piece in messages
    assert len(error.problems) == 5


# --- size limits ---------------------------------------------------------------------------


class _ForbiddenLoader:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the YAML parser must not see a file that is too big")


def test_too_big_file_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.yaml"
    line = b"      - Who met whom, and what did they discuss at the online meeting?\n"
    with path.open("wb") as handle:
        handle.write(VALID.encode())
        for _ in range(20):  # tens of megabytes, written in 1 MiB pieces
            handle.write(line * (1_048_576 // len(line)))
    assert path.stat().st_size > 20 * 1_000_000
    monkeypatch.setattr(yaml, "SafeLoader", _ForbiddenLoader)
    monkeypatch.setattr(knowledge_load, "parse_knowledge", _ForbiddenLoader)
    error = _refusal(path)
    assert f"the limit is {MAX_FILE_BYTES:,} bytes" in str(error)
    assert f"{path.stat().st_size:,} bytes" in str(error)


def test_file_one_byte_over_the_limit_is_refused(tmp_path: Path) -> None:
    data = VALID.encode()
    path = tmp_path / "facts.yaml"
    path.write_bytes(data + b"#" * (MAX_FILE_BYTES + 1 - len(data)))
    assert path.stat().st_size == MAX_FILE_BYTES + 1
    assert "the limit is" in str(_refusal(path))


def test_file_exactly_at_the_limit_loads(tmp_path: Path) -> None:
    data = VALID.encode() + b"#"
    path = tmp_path / "facts.yaml"
    path.write_bytes(data + b"#" * (MAX_FILE_BYTES - 1 - len(data)) + b"\n")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert [f.id for f in load_knowledge(path, ARTICLE).facts] == ["meeting_participants"]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_endless_device_is_refused() -> None:
    assert "is not a regular file" in str(_refusal(Path("/dev/zero")))


# --- files that are not there --------------------------------------------------------------


def test_missing_knowledge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    error = _refusal(path)
    assert f"{path}: knowledge file not found" in str(error)


def test_missing_article_is_refused(tmp_path: Path) -> None:
    article = tmp_path / "nope.txt"
    error = _refusal(FACTS, article)
    assert f"{article}: article not found" in str(error)


def test_article_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    error = _refusal(FACTS, tmp_path)
    assert f"{tmp_path}: article is not a regular file" in str(error)


def test_unreadable_article_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    article = tmp_path / "article.txt"
    article.write_bytes(ARTICLE.read_bytes())
    real_open = os.open

    def deny(path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(path) == article:
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    # Files are opened with os.open (non-blocking, so a FIFO cannot hang the open).
    monkeypatch.setattr(os, "open", deny)
    error = _refusal(FACTS, article)
    assert f"{article}: cannot read article: Permission denied" in str(error)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "article is empty"),
        (b"  \n\n\t ", "article is empty"),
        (b"caf\xe9\n", "article is not valid UTF-8"),
        (b"\xef\xbb\xbfBy Azernews\n", "byte-order mark"),
        (b"x" * (MAX_ARTICLE_BYTES + 1), "the limit is"),
    ],
)
def test_bad_article_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    article = tmp_path / "article.txt"
    article.write_bytes(content)
    assert message in str(_refusal(FACTS, article))


# --- the real knowledge base ---------------------------------------------------------------


def test_article_is_the_shared_article() -> None:
    data = ARTICLE.read_bytes()
    if SHARED_ARTICLE.exists():
        assert data == SHARED_ARTICLE.read_bytes()
    else:
        assert hashlib.sha256(data).hexdigest() == ARTICLE_SHA256


def test_real_knowledge_base_loads(kb: KnowledgeBase) -> None:
    ids = [fact.id for fact in kb.facts]
    assert len(ids) == len(set(ids))
    assert {"meeting_participants", "trade_turnover_2021"} <= set(ids)
    assert kb.source.outlet == "Azernews"
    assert kb.path == str(FACTS)
    expected = hashlib.sha256(FACTS.read_bytes())
    for listed in yaml.safe_load(FACTS.read_text(encoding="utf-8"))["lexicon"]:
        expected.update(b"\0" + listed.encode() + b"\0" + (FACTS.parent / listed).read_bytes())
    assert kb.digest == expected.hexdigest()
    article = " ".join(ARTICLE.read_text(encoding="utf-8").split())
    for fact in kb.facts:
        assert fact.questions
        # Every quote is the article's text, or (the title fact's) the article's title.
        assert " ".join(fact.quote.split()) in (article, kb.source.title) or (
            " ".join(fact.quote.split()) in article
        ), fact.id
    assert all(kb.fact(example) is not None for example in kb.examples)


def test_knowledge_base_is_immutable(kb: KnowledgeBase) -> None:
    fact = kb.facts[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        kb.facts = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fact.answer = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        kb.source.title = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        kb.aliases["new"] = ("word",)  # type: ignore[index]
    with pytest.raises(TypeError):
        kb.chit_chat["greeting"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        fact.answers["xx"] = "changed"  # type: ignore[index]
    with pytest.raises((AttributeError, TypeError)):
        kb.extra = 1  # type: ignore[attr-defined]
    assert isinstance(kb.facts, tuple)
    assert isinstance(kb.stopwords, frozenset)
    assert isinstance(kb.unanswerable, tuple)
    assert isinstance(kb.examples, tuple)
    for item in kb.facts:
        assert isinstance(item.questions, tuple)
        assert isinstance(item.keywords, tuple)
    assert all(isinstance(v, tuple) for v in kb.aliases.values())
    assert all(isinstance(v, tuple) for v in kb.chit_chat.values())


# --- quotes --------------------------------------------------------------------------------


def test_whitespace_differences_in_quotes_are_tolerated(tmp_path: Path) -> None:
    text = """\
facts:
  - id: meeting_participants
    questions:
      - Who met whom?
    answer: Babayev met Yanik online.
    quote: |
        The discussion   took place
           during the online    meeting
  - id: article_outlet
    questions:
      - Which outlet published this?
    answer: Azernews.
    quote: "  other areas, Azernews reports.  \\n\\n  The discussion took place  "
"""
    kb = load_knowledge(_write(tmp_path, text), ARTICLE)
    # The quote is kept as written (trimmed); only the comparison ignores the whitespace.
    assert kb.facts[0].quote == "The discussion   took place\n   during the online    meeting"


@pytest.mark.parametrize(
    "quote",
    [
        "the discussion took place during the online meeting",  # case differs
        "The discussion took place during the online meeting!",  # punctuation added
        "The discus sion took place",  # a space inside a word
        "Azerbaijan's second-largest investor",  # straight, the article's is curly
    ],
)
def test_quotes_must_otherwise_be_verbatim(quote: str) -> None:
    text = VALID.replace(QUOTE, quote.replace('"', '\\"'))
    with pytest.raises(KnowledgeError, match="not in the article word for word"):
        parse_knowledge(text, ARTICLE.read_text(encoding="utf-8"))


def test_parse_knowledge_names_the_source_in_problems() -> None:
    with pytest.raises(KnowledgeError) as info:
        parse_knowledge("facts: 3\n", "article", name="inline.yaml")
    assert str(info.value) == "inline.yaml:1: 'facts' must be a list, not a number"


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    kb = load_knowledge(_write(tmp_path, VALID), ARTICLE)
    assert kb.examples == ("meeting_participants",)
    assert kb.aliases == {}
    assert kb.source.title == "Untitled"
    assert kb.phrasing_count == 1


# --- lexicon files ---------------------------------------------------------------------------


def _with_lexicon(tmp_path: Path, **files: str) -> Path:
    """A facts file listing ``files`` (name: text) as its lexicon, all written to tmp_path."""
    (tmp_path / "lexicon").mkdir(exist_ok=True)
    for name, text in files.items():
        (tmp_path / "lexicon" / f"{name}.yaml").write_text(text, encoding="utf-8")
    listed = "".join(f"  - lexicon/{name}.yaml\n" for name in files)
    return _write(tmp_path, f"lexicon:\n{listed}{VALID}")


def test_lexicon_files_merge_into_one_vocabulary(tmp_path: Path) -> None:
    path = _with_lexicon(
        tmp_path,
        en="language: en\naliases:\n  meet: [meeting, met]\nstopwords: [please]\n",
        tr="language: tr\naliases:\n  turkey: [türkiye]\nchit_chat:\n  greeting: [merhaba]\n",
    )
    kb = load_knowledge(path, ARTICLE)
    assert kb.aliases == {"meet": ("meeting", "met"), "turkey": ("türkiye",)}
    assert "please" in kb.stopwords
    assert kb.chit_chat == {"greeting": ("merhaba",)}


def test_a_changed_lexicon_file_changes_the_digest(tmp_path: Path) -> None:
    path = _with_lexicon(tmp_path, en="language: en\nstopwords: [please]\n")
    before = load_knowledge(path, ARTICLE).digest
    (tmp_path / "lexicon" / "en.yaml").write_text("language: en\nstopwords: [kindly]\n")
    assert load_knowledge(path, ARTICLE).digest != before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stopwords: [please]\n", "en.yaml:1: missing field 'language'"),
        ("language: xx\n", "en.yaml:1: language 'xx' is not one of"),
        ("language: en\nfacts: []\n", "en.yaml:1: unknown field 'facts'"),
        ("- a list\n", "lexicon file 'lexicon/en.yaml' must be a mapping"),
        ("language: en\naliases: {a: [\n", "en.yaml:3: YAML syntax error"),
    ],
)
def test_a_bad_lexicon_file_is_refused_naming_it(tmp_path: Path, text: str, message: str) -> None:
    refusal = _refusal(_with_lexicon(tmp_path, en=text))
    assert message in str(refusal), str(refusal)


def test_a_missing_lexicon_file_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, f"lexicon: [lexicon/none.yaml]\n{VALID}")
    assert "lexicon file not found" in str(_refusal(path))


def test_a_variant_may_not_be_claimed_by_two_lexicon_files(tmp_path: Path) -> None:
    path = _with_lexicon(
        tmp_path,
        en="language: en\naliases:\n  turkey: [tr]\n",
        az="language: az\naliases:\n  turkish: [tr]\n",
    )
    refusal = str(_refusal(path))
    assert "az.yaml:3: alias variant 'tr' is listed under both" in refusal, refusal


def test_a_lexicon_cannot_be_read_from_memory() -> None:
    with pytest.raises(KnowledgeError) as info:
        parse_knowledge(f"lexicon: [lexicon/en.yaml]\n{VALID}", ARTICLE.read_text("utf-8"))
    assert "only be read when the knowledge file is read from disk" in str(info.value)


def test_every_shipped_fact_has_a_button_label_in_every_language() -> None:
    """Buttons say what was written for them, never a phrasing cut at the limit."""
    settings = load_settings(Path(__file__).resolve().parent.parent / "config" / "bot.yaml", env={})
    kb = load_knowledge(settings.facts, settings.article)
    for fact in kb.facts:
        assert set(fact.written_labels) == LANGUAGES, fact.id
        for language in LANGUAGES:
            assert fact.question_in(language) == fact.written_labels[language]
            assert len(fact.question_in(language)) <= MAX_LABEL_CHARS


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ('{en: "Who met whom"}', "labels.en must be an English question, ending with '?'"),
        ('{en: "Who met whom?", tr: "Who met whom?"}', "labels.tr reads as en"),
        ('{fr: "Qui a rencontré qui ?"}', "labels: unknown language code 'fr'"),
        ('{en: "' + "Who met whom " * 5 + '?"}', "labels.en is 66 characters; at most 48"),
        ("[Who met whom?]", "labels must be a mapping of language: text, not a list"),
    ],
)
def test_a_bad_label_is_refused(tmp_path: Path, labels: str, message: str) -> None:
    text = VALID.replace("    questions:\n", f"    labels: {labels}\n    questions:\n", 1)
    (problem,) = _refusal(_write(tmp_path, text)).problems
    assert message in problem.message
    assert problem.fact_id == "meeting_participants"


def test_without_labels_the_first_phrasing_must_be_an_english_question(tmp_path: Path) -> None:
    text = VALID.replace("      - Who met whom?\n", "      - Кто с кем встречался?\n")
    (problem,) = _refusal(_write(tmp_path, text)).problems
    assert "the first phrasing (its English label) must be an English question" in problem.message
    lower = VALID.replace("      - Who met whom?\n", "      - who met whom?\n")
    warnings = [str(w) for w in load_knowledge(_write(tmp_path, lower), ARTICLE).warnings]
    assert any("starts with a small letter" in w for w in warnings), warnings


def test_a_written_label_is_what_a_suggestion_says(tmp_path: Path) -> None:
    text = VALID.replace(
        "    questions:\n",
        '    labels: {en: "Who met?", ru: "Кто встречался?"}\n    questions:\n',
        1,
    )
    fact = load_knowledge(_write(tmp_path, text), ARTICLE).facts[0]
    assert fact.question_in("en") == "Who met?"
    assert fact.question_in("ru") == "Кто встречался?"
    assert fact.question_in("tr") == "Who met?"  # no Turkish label or phrasing: the English one


# --- warnings: legal, but likely wrong ----------------------------------------------------------


def test_warnings_name_few_phrasings_shared_phrasings_and_year_aliases(tmp_path: Path) -> None:
    second = VALID.split("facts:\n", 1)[1].replace("meeting_participants", "meeting_again")
    text = "aliases:\n  '2021': [last year, twenty twenty one]\n" + VALID + second
    kb = load_knowledge(_write(tmp_path, text), ARTICLE)
    warnings = [str(w) for w in kb.warnings]
    assert any(
        "fact 'meeting_participants': 1 phrasing(s); with fewer than 5" in w for w in warnings
    )
    assert any(
        "fact 'meeting_again': the phrasing 'Who met whom?' is also a phrasing of fact "
        "'meeting_participants'" in w
        for w in warnings
    ), warnings
    year = [w for w in warnings if "aliases.2021" in w]
    assert len(year) == 1 and "'last year'" in year[0] and "twenty" not in year[0], year


def test_a_fact_with_five_phrasings_and_labels_has_no_warning(tmp_path: Path) -> None:
    questions = "".join(f"      - Who met whom, part {n}?\n" for n in range(5))
    text = VALID.replace("      - Who met whom?\n", questions)
    assert load_knowledge(_write(tmp_path, text), ARTICLE).warnings == ()


# --- quotes are whole words -------------------------------------------------------------------

SMALL_ARTICLE = """\
A short headline

By Somebody Else

The ministers met online. They discussed pensions, in Azerbaijan's capital.
"""


def _with_quote(quote: str) -> str:
    return VALID.replace(f'"{QUOTE}"', "'" + quote.replace("'", "''") + "'")


@pytest.mark.parametrize(
    "quote",
    [
        "The ministers met online.",
        "ministers met online",
        "discussed pensions, in",  # punctuation inside is fine
        "By Somebody Else",
        "A short headline",  # a whole line of two words
        "They discussed pensions, in Azerbaijan's capital.",
        ", in Azerbaijan's capital",  # begins outside a word
    ],
)
def test_whole_word_quotes_are_accepted(quote: str) -> None:
    kb = parse_knowledge(_with_quote(quote), SMALL_ARTICLE)
    assert kb.facts[0].quote == quote


@pytest.mark.parametrize(
    ("quote", "piece"),
    [
        ("e", "quote must be whole words of the article"),
        ("inisters met online", "quote must be whole words of the article"),
        ("ministers met onl", "quote must be whole words of the article"),
        ("Azerbaija", "quote must be whole words of the article"),
        ("online", "quote is 1 word(s) long; it must be at least 3 words"),
        ("met online.", "quote is 2 word(s) long"),
        ("By Somebody", "quote is 2 word(s) long"),  # part of the byline line
        ("short headline", "quote is 2 word(s) long"),
        ("pensions, ,", "quote is not in the article word for word"),
    ],
)
def test_fragments_are_refused(quote: str, piece: str) -> None:
    with pytest.raises(KnowledgeError) as info:
        parse_knowledge(_with_quote(quote), SMALL_ARTICLE, name="kb.yaml")
    (problem,) = info.value.problems
    assert piece in problem.message
    assert str(problem).startswith("kb.yaml:6: fact 'meeting_participants': quote ")
    assert "\n" not in str(problem)


def test_a_word_found_inside_another_first_is_still_whole_later() -> None:
    # "met" is first found inside "metres"; the later whole-word "met online" counts.
    article = "Within metres of it. The ministers met online today."
    kb = parse_knowledge(_with_quote("met online today"), article)
    assert kb.facts[0].quote == "met online today"


def test_shipped_quotes_are_whole_words(kb: KnowledgeBase) -> None:
    """The real file: every quote three or more whole words, or a whole line."""
    article = ARTICLE.read_text(encoding="utf-8")
    lines = {" ".join(line.split()) for line in article.splitlines()}
    for fact in kb.facts:
        quote = " ".join(fact.quote.split())
        assert len(quote.split()) >= 3 or quote in lines, (fact.id, quote)


# --- YAML 1.1 leftovers -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["10:30", "1:0:0", "0x1F", "0o17", "017", "0b101", "1_000"])
def test_yaml11_numbers_are_text(text: str) -> None:
    """A phrasing or keyword "10:30" was the base-60 integer 630, refused as "a number"."""
    body = VALID.replace("      - Who met whom?\n", f"      - Who met whom?\n      - {text}\n")
    body += f"    keywords: [{text}]\n"
    kb = parse_knowledge(body, ARTICLE.read_text(encoding="utf-8"))
    assert kb.facts[0].questions == ("Who met whom?", text)
    assert kb.facts[0].keywords == (text,)


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n"])
def test_yaml11_booleans_are_text(word: str) -> None:
    body = VALID + f"stopwords: [the, {word}]\n"
    kb = parse_knowledge(body, ARTICLE.read_text(encoding="utf-8"))
    assert word in kb.stopwords


def _megabyte_of(pattern: str) -> str:
    """About 1 MiB of distinct list items (``{}`` is a counter), as near misses."""
    items: list[str] = []
    size = len(VALID) + 20
    while size < MAX_FILE_BYTES - 100:
        items.append(f"  - {pattern.format(len(items))}\n")
        size += len(items[-1])
    return VALID + "unanswerable:\n" + "".join(items[:-1])


@pytest.mark.slow  # a megabyte each, seconds of parsing; the fast loop skips it
@pytest.mark.parametrize(
    "text",
    [
        # one scalar: 1 MiB of base 60 took minutes (a quadratic big-number product)
        "version: 1:" + ":0" * ((MAX_FILE_BYTES - 300) // 2) + "\n" + VALID,
        "version: 0x" + "f" * (MAX_FILE_BYTES - 200) + "\n" + VALID,
        "version: " + "9" * (MAX_FILE_BYTES - 200) + "\n" + VALID,
        # a hundred thousand short ones
        _megabyte_of("1:{}:0"),
        _megabyte_of("0x{}F"),
        _megabyte_of("0b1{}"),
        _megabyte_of("{}"),
    ],
    ids=["base60", "hex", "decimal", "many-base60", "many-hex", "many-binary", "many-decimal"],
)
def test_a_megabyte_of_numbers_is_read_in_seconds_not_minutes(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    assert MAX_FILE_BYTES - 1_000 < path.stat().st_size <= MAX_FILE_BYTES
    started = time.process_time()
    try:
        load_knowledge(path, ARTICLE)
    except KnowledgeError as exc:
        assert all("\n" not in str(p) and len(str(p)) < 400 for p in exc.problems)
    # CPU time, with room for a loaded CI machine: the guard is against the quadratic case.
    assert time.process_time() - started < 3.0


def test_at_most_a_hundred_problems_are_listed() -> None:
    body = VALID + "unanswerable:\n" + "".join(f"  - {i}\n" for i in range(150))
    with pytest.raises(KnowledgeError) as info:
        parse_knowledge(body, ARTICLE.read_text(encoding="utf-8"), name="kb.yaml")
    problems = info.value.problems
    assert len(problems) == 101
    assert all("must be a string, not a number" in p.message for p in problems[:100])
    assert str(problems[-1]) == "kb.yaml: and 50 more problems"


# --- an editor's mistakes name the fact they are in (issue 12) -------------------------------


@pytest.mark.parametrize(
    "name", ["syntax_colon_in_plain_scalar.yaml", "syntax_unclosed_quote.yaml", "folded_item.yaml"]
)
def test_a_mistake_names_its_fact_even_when_yaml_cannot_be_parsed(name: str) -> None:
    (problem,) = _refusal(BROKEN / name).problems
    assert problem.fact_id == "meeting_participants"
    assert "fact 'meeting_participants':" in str(problem)


def test_a_syntax_error_above_the_facts_names_no_fact(tmp_path: Path) -> None:
    path = _write(tmp_path, "source: [unclosed\n" + VALID)
    (problem,) = _refusal(path).problems
    assert problem.fact_id is None
    assert "the [ opened at line 1 is not closed" in problem.message


def test_a_wrapped_long_phrasing_is_legal_yaml_and_stays_one_text(tmp_path: Path) -> None:
    """YAML dumpers wrap long plain texts; only a continuation that begins "- " is refused."""
    wrapped = VALID.replace(
        "      - Who met whom?\n",
        "      - Who met whom at the online meeting of the two\n        social ministers?\n",
    )
    assert wrapped != VALID
    kb = load_knowledge(_write(tmp_path, wrapped), ARTICLE)
    assert "Who met whom at the online meeting of the two social ministers?" in (
        kb.facts[0].questions
    )


# --- relative years are read from the article's date ------------------------------------------


def test_relative_years_count_from_the_article_date(tmp_path: Path) -> None:
    text = (
        'source: {title: T, outlet: O, author: A, date: "2022-07-07"}\n'
        "relative_years:\n  -1: [last year, geçen yıl]\n  1: [next year]\n" + VALID
    )
    kb = load_knowledge(_write(tmp_path, text), ARTICLE)
    assert set(kb.aliases["2021"]) == {"last year", "geçen yıl"}
    assert kb.aliases["2023"] == ("next year",)
    assert not [w for w in kb.warnings if "aliases.20" in w.message]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("relative_years:\n  -1: [last year]\n", "relative_years needs source.date"),
        (
            'source: {title: T, outlet: O, author: A, date: "2022-07-07"}\n'
            "relative_years:\n  soon: [next year]\n",
            "'soon' must be a whole number of years",
        ),
        ("relative_years: [last year]\n", "'relative_years' must be a mapping of offset"),
    ],
)
def test_a_bad_relative_year_is_refused(tmp_path: Path, section: str, message: str) -> None:
    (problem,) = _refusal(_write(tmp_path, section + VALID)).problems
    assert message in problem.message


def test_the_source_title_proves_a_fact_about_the_title(tmp_path: Path) -> None:
    """The headline is not in the article's text; quoted whole, it proves what the title is."""
    title_fact = VALID.replace(f'"{QUOTE}"', '"Ministers meet online"')
    source = 'source: {title: "Ministers meet online", outlet: O, author: A, date: "2022-07-07"}\n'
    kb = load_knowledge(_write(tmp_path, source + title_fact), ARTICLE)
    assert kb.facts[0].quote == "Ministers meet online"
    part = VALID.replace(f'"{QUOTE}"', '"Ministers meet"')
    (problem,) = _refusal(_write(tmp_path, source + part)).problems
    assert "quote is not in the article word for word" in problem.message
    (problem,) = _refusal(_write(tmp_path, title_fact)).problems  # no source: no title
    assert "quote is not in the article word for word" in problem.message
