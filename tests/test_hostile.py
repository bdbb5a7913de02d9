"""Hostile questions: whatever text arrives, nothing raises and every reply is valid.

Property tests (hypothesis) over Unicode text up to 4,096 characters -- Telegram's longest
message -- drawn from strategies that mix emoji (flags, skin tones, ZWJ sequences), right-to-
left scripts and direction overrides, combining marks, zero-width and control characters,
full-width letters, HTML- and Markdown-looking text, very long words, punctuation only, the
knowledge base's own words, and plain arbitrary Unicode. For every such question:

* the normaliser and the matcher return, and ``reply_to`` gives a reply;
* ``render_html`` is valid Telegram HTML (:mod:`fakes.telegram_html`) within 4,096
  characters; ``render_plain`` and ``to_json`` work and the JSON round-trips;
* the buttons fit Telegram's limits (64-byte callback data, 64-character labels).

The cards are checked in every language, and replies and cards are also rendered from
knowledge bases full of hostile text (answers, quotes, source, thousands of facts), so the
escaping and the 4,096-character budget do not depend on the real knowledge file being
tame. Finally the real CLI runs hypothesis-made batches of lines: ``ask --json -`` writes
exactly one JSON line per input line, and ``chat`` answers every line and never dies.

Time is not asserted here; ``python -m benchmarks.hostile`` measures it.
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from fakes.telegram_html import assert_valid, problems, visible_text
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.budget import TELEGRAM_MAX_CHARS, telegram_length
from bot.cards import help_card, source_card, start_card, topics_card
from bot.config import load_settings
from bot.engine import Engine
from bot.knowledge_checks import INTENTS
from bot.knowledge_load import load_knowledge
from bot.knowledge_model import Fact, KnowledgeBase, Source
from bot.matcher import Verdict
from bot.normalise import fold, normalise, tokenize
from bot.render_html import card_html, render_html
from bot.render_json import to_json
from bot.render_plain import card_plain, render_plain
from bot.replies import Reply, reply_to, reply_to_fact
from bot.telegram.filters import mentions, strip_mention
from bot.telegram.keyboards import keyboard

ROOT = Path(__file__).resolve().parents[1]
MAX_TEXT = 4096
LANGUAGES = ("en", "tr", "az", "ru")
HINTS = st.sampled_from([None, "", "en", "tr", "az", "ru", "ru-RU", "de", "zz-ZZ", "x" * 40])

# --- strategies ------------------------------------------------------------------------------


def _chars(*ranges: tuple[int, int]) -> st.SearchStrategy[str]:
    return st.one_of(
        [st.characters(min_codepoint=low, max_codepoint=high, codec=None) for low, high in ranges]
    )


def _joined(pieces: st.SearchStrategy[str], max_size: int) -> st.SearchStrategy[str]:
    """Strings of up to ``max_size`` pieces (which may be several characters long)."""
    return st.lists(pieces, max_size=max_size).map("".join)


EMOJI = st.one_of(
    _chars((0x1F300, 0x1FAFF), (0x2600, 0x27BF)),
    st.sampled_from(
        [
            "🇦🇿",
            "🇹🇷",
            "👍🏽",
            "👨‍👩‍👧‍👦",
            "🏳️‍🌈",
            "❤️",
            "🧑🏿‍💻",
            "\U0001f1e6",  # a lone regional indicator
            "\ufe0f",
            "\U0001f3fb",  # a lone skin tone
        ]
    ),
)
RIGHT_TO_LEFT = st.one_of(
    _chars((0x0590, 0x05FF), (0x0600, 0x06FF), (0x0700, 0x074F), (0xFB50, 0xFDFF)),
    st.sampled_from(
        ["\u202e", "\u202b", "\u202a", "\u202d", "\u2067", "\u2069", "\u200f", "\u061c"]
    ),
)
COMBINING = _chars((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F))
ZERO_WIDTH = st.sampled_from(
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u2062", "\u034f"]
)
CONTROL = st.one_of(
    _chars((0x00, 0x1F), (0x7F, 0x9F)), st.sampled_from(["\u2028", "\u2029", "\u0085", "\r"])
)
FULL_WIDTH = _chars((0xFF01, 0xFF5E), (0x3000, 0x3000))
PUNCTUATION = st.sampled_from(list(string.punctuation + "¡¿…—–«»“”‘’•·§¶†‡‰′″‹›※‼⁇⁈¨´`"))
HTML_LIKE = st.sampled_from(
    [
        "<b>",
        "</b>",
        "<i>x</i>",
        '<a href="javascript:alert(1)">',
        "</a>",
        "&amp;",
        "&lt;",
        "&#60;",
        "&#x3C;",
        "&",
        "<",
        ">",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        "<tg-spoiler>",
        '<span class="tg-spoiler">',
        '<pre><code class="language-python">',
        "<script>alert(1)</script>",
        "<br/>",
        "&nbsp;",
        "&unknown;",
        "<blockquote expandable>",
        "</",
        "<>",
        "%s %d {0} {facts}",
    ]
)
MARKDOWN_LIKE = st.sampled_from(
    [
        "*bold*",
        "_italic_",
        "__underline__",
        "~strike~",
        "||spoiler||",
        "`code`",
        "```python\nprint(1)\n```",
        "[link](http://example.com)",
        "![img](x)",
        "\\*",
        "> quote",
        "# heading",
        "- item",
        "1. item",
        "**",
        "\\",
    ]
)


def _knowledge_words() -> list[str]:
    kb = load_knowledge(ROOT / "knowledge" / "facts.yaml", ROOT / "knowledge" / "article.txt")
    words = {w for f in kb.facts for q in (*f.questions, f.answer) for w in q.split()}
    return [*sorted(words)[:2000], "2021", "2023", "4.6", "$15", "Türkiye", "Азербайджан"]


KB_WORDS = st.sampled_from(_knowledge_words())
LETTERS = st.characters(categories=["Lu", "Ll", "Lo"], codec=None)
LONG_WORD = st.one_of(
    st.text(LETTERS, min_size=100, max_size=MAX_TEXT),
    st.builds(lambda c, n: c * n, LETTERS, st.integers(100, MAX_TEXT)),
)
SEPARATOR = st.sampled_from([" ", "", "  ", "\t", "\n", ", ", "?", "\u00a0", "\u3000"])
PIECE = st.one_of(
    _joined(EMOJI, 40),
    st.text(RIGHT_TO_LEFT, max_size=80),
    st.text(COMBINING, max_size=60),
    st.text(ZERO_WIDTH, max_size=20),
    st.text(CONTROL, max_size=20),
    st.text(FULL_WIDTH, max_size=60),
    st.text(PUNCTUATION, max_size=40),
    HTML_LIKE,
    MARKDOWN_LIKE,
    KB_WORDS,
    KB_WORDS.map(str.upper),
    st.text(max_size=60),
)
MIXED = st.lists(st.tuples(PIECE, SEPARATOR), max_size=80).map(
    lambda parts: "".join(a + b for a, b in parts)[:MAX_TEXT]
)
QUESTIONS = st.one_of(
    MIXED,
    st.text(max_size=MAX_TEXT),  # any Unicode text
    st.text(PUNCTUATION, max_size=MAX_TEXT),  # punctuation only
    LONG_WORD,
    st.lists(KB_WORDS, min_size=1, max_size=800).map(lambda w: " ".join(w)[:MAX_TEXT]),
    st.text(st.one_of(ZERO_WIDTH, CONTROL, COMBINING), max_size=MAX_TEXT),
)

FAST = settings(
    max_examples=150,
    deadline=None,  # no timing in tests: benchmarks/hostile.py measures it
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def engine() -> Engine:
    config = load_settings(ROOT / "config" / "bot.yaml", env={})
    return Engine.build(load_knowledge(config.facts, config.article), config.matching)


# --- the reply path ----------------------------------------------------------------------------


def check_reply(engine: Engine, reply: Reply) -> None:
    """What must hold for any reply: valid HTML within the limit, plain text, JSON, buttons."""
    text = render_html(reply)
    assert_valid(text)
    assert len(text) <= TELEGRAM_MAX_CHARS and telegram_length(text) <= TELEGRAM_MAX_CHARS
    plain = render_plain(reply)
    assert isinstance(plain, str) and plain.strip()
    data = to_json(reply)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert 0 <= data["score"] <= 100
    assert (data["fact_id"] is None) == (reply.fact is None)
    markup = keyboard(reply.suggestions, reply.language)
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            assert len(button.text) <= 64 and button.text.strip()
            assert len((button.callback_data or "").encode()) <= 64


@FAST
@given(question=QUESTIONS)
def test_normaliser_never_raises(engine: Engine, question: str) -> None:
    tokens = normalise(question)
    assert all(isinstance(t, str) and t for t in tokens)
    assert all(t and t == t.strip() for t in tokenize(fold(question)))
    assert all(t for t in engine.index.lookup.tokens(question))


@pytest.mark.slow  # seconds of real work; the fast loop skips it
@FAST
@given(question=QUESTIONS, hint=HINTS)
@example(question="<b>" * 1024, hint=None)
@example(question="\u202eWho met whom?\u202c &amp; <i>", hint="ru")
@example(question="x" * MAX_TEXT, hint="tr")
def test_reply_never_raises_and_renders_valid_telegram_html(
    engine: Engine, question: str, hint: str | None
) -> None:
    reply = reply_to(engine, question, hint)
    assert reply.question == question
    assert reply.language in LANGUAGES
    check_reply(engine, reply)
    # what the group handler does with it first
    assert isinstance(strip_mention(question, "article_qa_bot"), str)
    mentions(question, "article_qa_bot")


@pytest.mark.parametrize("language", LANGUAGES)
def test_cards_are_valid_telegram_html_in_every_language(engine: Engine, language: str) -> None:
    cards = [
        start_card(engine, language),
        help_card(engine, False, language),
        help_card(engine, True, language),
        topics_card(engine, language),
        source_card(engine, language),
    ]
    for card in cards:
        assert_valid(card_html(card))
        assert card_plain(card).strip()
        keyboard(card.suggestions, card.language)
    for fact in engine.kb.facts:
        reply = reply_to_fact(engine, fact.id, language)
        assert reply is not None
        check_reply(engine, reply)


# --- knowledge bases full of hostile text ------------------------------------------------------

HOSTILE_TEXT = st.one_of(
    MIXED.map(lambda text: text[:300]),
    _joined(st.one_of(HTML_LIKE, PUNCTUATION, EMOJI), 100).map(lambda t: t[:300]),
)


def hostile_fact(index: int, text: str, answer: str, quote: str) -> Fact:
    return Fact(
        id=f"f{index}",
        questions=((text[:300] or "q") + "?",),
        answer=answer[:200] or "a",
        quote=quote[:1000] or "q",
        answers=MappingProxyType({"tr": answer[:200] or "a"}),
    )


@st.composite
def hostile_kbs(draw: st.DrawFn) -> KnowledgeBase:
    texts = draw(st.lists(HOSTILE_TEXT, min_size=3, max_size=12))
    count, n = draw(st.sampled_from([1, 3, 40, 400])), len(texts)
    facts = tuple(
        hostile_fact(i, texts[i % n], texts[(i + 1) % n] * 3, texts[(i + 2) % n] * 9)
        for i in range(count)
    )
    long = draw(st.sampled_from([1, 50, 5000]))
    source = Source(
        title=texts[0] * long,
        outlet=texts[1] * long,
        author=texts[2],
        date=texts[-1] * long,
        url=draw(st.sampled_from([None, texts[1], '"><script>'])),
    )
    return KnowledgeBase(
        source=source,
        facts=facts,
        article="",
        aliases=MappingProxyType({}),
        stopwords=frozenset(),
        chit_chat=MappingProxyType({}),
        unanswerable=(),
        examples=tuple(f.id for f in facts[:3]),
    )


@settings(FAST, max_examples=40)
@given(kb=hostile_kbs(), language=st.sampled_from(LANGUAGES))
def test_hostile_knowledge_base_still_renders_valid_html(kb: KnowledgeBase, language: str) -> None:
    engine = Engine(kb, None)  # type: ignore[arg-type]  # cards and renderers need no index
    fact, others = kb.facts[0], kb.facts[1:4]
    for verdict, chosen, suggestions, intent in [
        (Verdict.ANSWER, fact, (), None),
        (Verdict.UNCERTAIN, fact, others, None),
        (Verdict.NO_ANSWER, None, others, None),
        (Verdict.NO_ANSWER, None, (), None),
        *((Verdict.SMALLTALK, None, others, i) for i in (*INTENTS, "no-such-intent")),
    ]:
        reply = Reply("q", verdict, chosen, 50.0, 1.0, suggestions, intent, kb, language)
        check_reply(engine, reply)
    for card in (
        start_card(engine, language),
        help_card(engine, True, language),
        topics_card(engine, language),
        source_card(engine, language),
    ):
        text = card_html(card)
        assert_valid(text)
        assert len(text) <= TELEGRAM_MAX_CHARS
        markup = keyboard(card.suggestions, card.language)
        assert markup is None or len(markup.inline_keyboard) <= 100


def test_thousands_of_facts_fit_in_one_topics_message() -> None:
    facts = tuple(hostile_fact(i, f"question number {i} " * 10, "a", "q") for i in range(2000))
    kb = KnowledgeBase(
        Source("t", "o", "a", "d"), facts, "", MappingProxyType({}), frozenset(),
        MappingProxyType({}), (), ("f0",),
    )  # fmt: skip
    card = topics_card(Engine(kb, None), "en")  # type: ignore[arg-type]
    text = card_html(card)
    assert_valid(text)
    assert text.endswith("\n…") and telegram_length(visible_text(text)) <= TELEGRAM_MAX_CHARS
    markup = keyboard(card.suggestions, card.language)
    assert markup is not None and len(markup.inline_keyboard) == 100


@pytest.mark.parametrize(
    "text",
    [
        "<b>open",
        "a < b",
        "a > b",
        "fish & chips",
        "&foo;",
        "&amp",
        "<script>x</script>",
        "<a>no href</a>",
        "<span>no class</span>",
        "<b><i>crossed</b></i>",
        "<br/>",
        "<!-- comment -->",
        "x" * 4097,
        "😀" * 2049,  # 4,098 UTF-16 units
        "",
    ],
)
def test_the_validator_rejects_what_telegram_rejects(text: str) -> None:
    assert problems(text)


def test_the_validator_accepts_telegram_html() -> None:
    assert_valid(
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>i</ins><s>s</s><strike>s"
        '</strike><del>d</del><span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>'
        '<a href="http://x.y/?a=1&amp;b=2">a</a><code>c</code><pre><code class="language-py">'
        "p</code></pre><blockquote>q</blockquote><blockquote expandable>e</blockquote>"
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> &lt;&gt;&amp;&quot;&#60;&#x3C;'
    )
    assert_valid("😀" * 2048)


# --- the real CLI ------------------------------------------------------------------------------

LINE = st.one_of(
    QUESTIONS.map(lambda q: q.replace("\n", " ")[:600]),
    st.sampled_from(["", " ", "/start", "/help", "/topics", "/source", "/", "1", "2", "99", "0"]),
)
RAW_LINE = st.one_of(
    LINE.map(lambda line: line.encode("utf-8")),
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),  # not UTF-8 at all
)
BATCHES = st.tuples(st.lists(RAW_LINE, min_size=1, max_size=25), st.booleans())


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "PYTHON"))}
    env.update({"PYTHONPATH": str(ROOT), "PYTHONUTF8": "1"})
    return env


def _run(command: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *command],
        input=data,
        capture_output=True,
        cwd=ROOT,
        env=_env(),
        timeout=120,
        check=False,
    )


@settings(
    max_examples=4,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(batch=BATCHES)
@example(  # a lone CR inside a line, NUL, bytes that are not UTF-8, Unicode line breaks
    batch=(
        [b"who met\rwhom?", b"\x00", b"\xff\xfe\xc3(", "a\u2028b\x85c\x0bd".encode(), b"\r"],
        True,
    )
)
@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_cli_ask_json_and_chat_survive_any_batch(batch: tuple[list[bytes], bool]) -> None:
    lines, final_newline = batch
    # /quit and /exit end a chat on purpose; everything else must be answered
    lines = [x for x in lines if x.strip() not in (b"/quit", b"/exit")] or [b"hello"]
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # nothing after the last newline: no line there
    with ThreadPoolExecutor(2) as pool:
        asked, chatted = pool.map(_run, (["ask", "--json", "-"], ["chat"]), (data, data))

    assert asked.returncode == 0 and asked.stderr == b"", asked.stderr[-2000:]
    outputs = asked.stdout.split(b"\n")
    assert outputs[-1] == b""  # every answer ends its line
    assert len(outputs) - 1 == len(lines)
    for line, output in zip(lines, outputs, strict=False):
        reply: dict[str, Any] = json.loads(output)
        assert reply["question"] == line.decode("utf-8", "replace").rstrip("\r")
        assert isinstance(reply["answered"], bool) and 0 <= reply["score"] <= 100

    assert chatted.returncode == 0 and chatted.stderr == b"", chatted.stderr[-2000:]
    assert b"Traceback" not in chatted.stderr
    blocks = chatted.stdout.decode("utf-8").split("\n\n")
    assert blocks[-1] == ""
    assert len(blocks) - 1 == len(lines)  # one reply per line
