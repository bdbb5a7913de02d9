"""The real command, run as a subprocess: ``python -m bot {ask,chat,check,eval}``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.cli import ROOT, TIMEOUT, cli_env
from fakes.cli import bot_cli as run

from bot.knowledge_load import load_knowledge
from bot.knowledge_model import Fact, KnowledgeBase

FACTS = ROOT / "knowledge" / "facts.yaml"
ARTICLE = ROOT / "knowledge" / "article.txt"
BROKEN = ROOT / "tests" / "data" / "broken"

JSON_KEYS = {
    "margin",
    "nearby",
    "why",
    "question",
    "answered",
    "fact_id",
    "answer",
    "quote",
    "score",
    "suggestions",
    "verdict",
    "language",  # the reply's language (en, tr, az, ru), added with language-aware replies
}
VERDICTS = {"answer", "uncertain", "no_answer", "smalltalk"}
MEETING = "Who met whom?"
TRADE = "What was the trade turnover in 2021?"
OFF_TOPIC = "Who won the World Cup?"


def fast_first(cases: list[tuple[Any, ...]], keep: int = 1) -> list[Any]:
    """The first ``keep`` case(s) run in the fast loop, the others only in the full suite: each
    case starts a process, and the in-process tests already check every message."""
    return [
        pytest.param(*case, marks=() if n < keep else pytest.mark.slow)
        for n, case in enumerate(cases)
    ]


def assert_clean_failure(done: subprocess.CompletedProcess[str], *pieces: str) -> None:
    """A non-zero exit with one "error:" message on stderr and no traceback."""
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ")
    assert sum(line.startswith("error: ") for line in done.stderr.splitlines()) == 1
    for piece in pieces:
        assert piece in done.stderr


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(FACTS, ARTICLE)


def _fact(kb: KnowledgeBase, fact_id: str) -> Fact:
    fact = kb.fact(fact_id)
    assert fact is not None
    return fact


def _by_label(kb: KnowledgeBase, label: str) -> Fact:
    return next(f for f in kb.facts if f.question_in("en") == label)


def _check_json(reply: Any, question: str) -> None:
    assert isinstance(reply, dict)
    assert set(reply) == JSON_KEYS
    assert reply["question"] == question
    assert isinstance(reply["answered"], bool)
    assert isinstance(reply["score"], int | float) and not isinstance(reply["score"], bool)
    assert 0 <= reply["score"] <= 100
    assert isinstance(reply["suggestions"], list)
    assert all(isinstance(s, str) and s for s in reply["suggestions"])
    assert reply["verdict"] in VERDICTS
    assert isinstance(reply["language"], str) and reply["language"]
    assert reply["nearby"] is None or (not reply["answered"] and isinstance(reply["nearby"], str))
    if reply["answered"]:
        assert all(isinstance(reply[k], str) and reply[k] for k in ("fact_id", "answer", "quote"))
    else:
        assert reply["fact_id"] is None
        assert reply["answer"] is None
        assert reply["quote"] is None


# --- ask -----------------------------------------------------------------------------------


def test_ask_prints_answer_and_quote(kb: KnowledgeBase) -> None:
    done = run("ask", *MEETING.split())
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    fact = _fact(kb, "meeting_participants")
    assert fact.answer in done.stdout
    assert " ".join(fact.quote.split()) in done.stdout
    assert "Azernews" in done.stdout  # the source line


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_ask_off_topic_says_so() -> None:
    done = run("ask", OFF_TOPIC)
    assert done.returncode == 0
    assert done.stdout.startswith("The article doesn't say.")


def test_ask_json_answered(kb: KnowledgeBase) -> None:
    done = run("ask", "--json", TRADE)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    reply = json.loads(lines[0])
    _check_json(reply, TRADE)
    fact = _fact(kb, "trade_turnover_2021")
    assert reply["answered"] is True
    assert reply["fact_id"] == "trade_turnover_2021"
    assert reply["answer"] == fact.answer
    assert reply["quote"] == fact.quote
    assert reply["verdict"] in {"answer", "uncertain"}


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_ask_json_off_topic() -> None:
    done = run("ask", "--json", OFF_TOPIC)
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    _check_json(reply, OFF_TOPIC)
    assert reply["answered"] is False
    assert reply["verdict"] == "no_answer"


ODD_LINES: list[bytes] = [
    MEETING.encode(),
    b"",
    b"   \t  ",
    ("very long question " * 20_000).encode(),
    b"invalid \xff\xfe bytes \xc3( here",
    "🇦🇿🤝🇹🇷 trade 2021? 👍🏽".encode(),
    "ما هو حجم التجارة بين أذربيجان وتركيا؟".encode(),
    "מי נפגש עם מי?".encode(),
    "line\u2028separator\u0085next\x0bvertical\x0cfeed\x1cfile".encode(),
    b"nul \x00 byte",
    b"ends with a carriage return\r",
    TRADE.encode(),
    OFF_TOPIC.encode(),
    "ТОРГОВЛЯ в 2021?".encode(),
]


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_ask_json_stdin_gives_one_line_per_line_in_order() -> None:
    # The last line has no newline at its end and must still be answered.
    done = run("ask", "--json", "-", stdin=b"\n".join(ODD_LINES))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    raw = done.stdout.split("\n")
    assert raw[-1] == ""
    outputs = raw[:-1]
    assert len(outputs) == len(ODD_LINES)
    for line, output in zip(ODD_LINES, outputs, strict=True):
        reply = json.loads(output)
        expected = line.decode("utf-8", errors="replace").rstrip("\r")
        _check_json(reply, expected)
    assert json.loads(outputs[0])["fact_id"] == "meeting_participants"
    assert json.loads(outputs[11])["fact_id"] == "trade_turnover_2021"
    assert json.loads(outputs[12])["answered"] is False
    assert json.loads(outputs[1])["answered"] is False  # a blank line answers nothing


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_ask_json_stdin_crlf_and_empty_input() -> None:
    done = run("ask", "--json", "-", stdin=f"{MEETING}\r\n{TRADE}\r\n")
    questions = [json.loads(line)["question"] for line in done.stdout.splitlines()]
    assert questions == [MEETING, TRADE]
    empty = run("ask", "--json", "-", stdin=b"")
    assert (empty.returncode, empty.stdout) == (0, "")


def _readline(stream: Any, timeout: float) -> bytes:
    """One line from ``stream``, failing the test instead of hanging."""
    box: list[bytes] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not box:
        pytest.fail(f"no answer within {timeout} s: the command does not stream")
    return box[0]


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_ask_json_stdin_streams() -> None:
    """Each answer comes out before the next question is written or stdin is closed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--json", "-"],
        cwd=ROOT,
        env=cli_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for question, fact_id in (
            (MEETING, "meeting_participants"),
            (TRADE, "trade_turnover_2021"),
        ):
            proc.stdin.write(question.encode() + b"\n")
            proc.stdin.flush()
            reply = json.loads(_readline(proc.stdout, TIMEOUT))
            assert reply["question"] == question
            assert reply["fact_id"] == fact_id
        proc.stdin.close()
        assert proc.wait(TIMEOUT) == 0
        assert proc.stdout.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()


# --- chat ----------------------------------------------------------------------------------


def chat(lines: Sequence[str | bytes]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``chat`` with piped lines; returns the result and one output block per reply."""
    data = b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines)
    done = run("chat", stdin=data)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.endswith("\n\n") or done.stdout == ""
    blocks = done.stdout.split("\n\n")[:-1]
    return done, blocks


def _offered(block: str) -> list[str]:
    return re.findall(r"^  \d+\. (.+)$", block, flags=re.MULTILINE)


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_chat_answers_each_line(kb: KnowledgeBase) -> None:
    _, blocks = chat([MEETING, TRADE, OFF_TOPIC])
    assert len(blocks) == 3
    assert _fact(kb, "meeting_participants").answer in blocks[0]
    assert _fact(kb, "trade_turnover_2021").answer in blocks[1]
    assert blocks[2].startswith("The article doesn't say.")


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_chat_number_picks_a_suggestion(kb: KnowledgeBase) -> None:
    _, blocks = chat([OFF_TOPIC, "1", OFF_TOPIC, "2"])
    assert len(blocks) == 4
    first, second = _offered(blocks[0]), _offered(blocks[2])
    assert len(first) >= 2
    assert _by_label(kb, first[0]).answer in blocks[1]
    assert _by_label(kb, second[1]).answer in blocks[3]


@pytest.mark.slow  # seconds of real work; the fast loop skips it
@pytest.mark.parametrize("goodbye", ["bye", "görüşürüz", "пока"])
def test_a_goodbye_ends_the_chat_after_the_bot_says_goodbye(goodbye: str) -> None:
    done, blocks = chat([MEETING, goodbye, MEETING])
    assert done.returncode == 0
    assert len(blocks) == 2  # nothing answered after the goodbye
    assert blocks[1].strip() in {s.strip() for s in _goodbyes()}


def _goodbyes() -> list[str]:
    from bot import texts

    return [texts.of(language).smalltalk["goodbye"] for language in ("en", "tr", "az", "ru")]


def test_chat_commands(kb: KnowledgeBase) -> None:
    _, blocks = chat(["/help", "/topics", "/source", "3", "/start", "/quit", MEETING])
    assert len(blocks) == 5  # nothing after /quit
    help_block, topics, source, picked, start = blocks
    assert help_block.startswith("How to use this bot")
    for command in ("/start", "/help", "/topics", "/source"):
        assert command in help_block
    assert _offered(topics) == [f.question_in("en") for f in kb.facts]
    assert source.startswith("The article")
    for value in (kb.source.title, kb.source.outlet, kb.source.author, kb.source.date):
        assert value in source
    # /source offers no questions, so a number still picks from /topics.
    assert kb.facts[2].answer in picked
    assert start.startswith("Ask me about this article")


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_chat_never_dies_on_odd_input() -> None:
    odd: list[str | bytes] = [
        "",
        "   ",
        "/",
        "//",
        "/help me please",
        "/unknown",
        "/HELP",
        "0",
        "-1",
        "99",
        "²",
        "\u0661",  # Arabic-Indic one
        "\uff11",  # full-width one
        "1.5",
        "9" * 5000,
        b"\xff\xfe\xc3(",
        b"\x00",
        "🙂🙃",
        "مرحبا",
        "x" * 200_000,
        "\u2028\u0085\x0b",
    ]
    done, blocks = chat(odd)
    assert len(blocks) == len(odd)
    assert done.stderr == ""


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_chat_ends_quietly_at_end_of_input() -> None:
    done, blocks = chat([])
    assert blocks == []
    assert done.stdout == ""


# --- check ---------------------------------------------------------------------------------


def test_check_real_knowledge_base() -> None:
    done = run("check")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r".*facts\.yaml: OK: \d+ facts, \d+ phrasings, .*", lines[0])


@pytest.mark.parametrize(
    ("name", "piece"),
    fast_first(
        [
            ("duplicate_ids.yaml", "duplicate id"),
            ("syntax_unclosed_quote.yaml", "YAML syntax error"),
            ("non_utf8.yaml", "not valid UTF-8"),
            ("utf8_bom.yaml", "byte-order mark"),
            ("alias_bomb.yaml", "anchors and aliases"),
            ("python_object_apply.yaml", "is not allowed"),
            ("deep_nesting.yaml", "nested too deeply"),
            ("impossible_date.yaml", "a value cannot be read"),
            ("huge_integer.yaml", "a value cannot be read"),
            ("empty.yaml", "the file is empty"),
            ("quote_straight_apostrophe.yaml", "not in the article word for word"),
        ]
    ),
)
def test_check_broken_file(name: str, piece: str) -> None:
    path = BROKEN / name
    done = run("check", str(path))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert any(line.startswith(f"{path}") and piece in line for line in lines[:-1])
    assert lines[-1] == f"{path}: {len(lines) - 1} problem(s); not loaded"


def test_check_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "facts.yaml"
    path.write_text("facts:\n  - id: Bad-Id\n    answer: 42\n", encoding="utf-8")
    done = run("check", str(path))
    assert done.returncode == 1
    problems = done.stderr.splitlines()[:-1]
    assert len(problems) >= 4  # bad id, wrong answer type, no questions, no quote
    assert done.stderr.splitlines()[-1] == f"{path}: {len(problems)} problem(s); not loaded"


def test_check_too_big_and_missing_files(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.write(b"# padding\n" * 3_000_000)
    done = run("check", str(big))
    assert done.returncode == 1
    assert "the limit is" in done.stderr
    missing = run("check", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1
    assert "knowledge file not found" in missing.stderr
    assert "Traceback" not in done.stderr + missing.stderr


# --- eval ----------------------------------------------------------------------------------


def _question_set(tmp_path: Path, cases: list[dict[str, Any]]) -> Path:
    path = tmp_path / "questions.yaml"
    path.write_text(yaml.safe_dump({"cases": cases}, allow_unicode=True), encoding="utf-8")
    return path


def test_eval_prints_accuracy_per_category(tmp_path: Path) -> None:
    path = _question_set(
        tmp_path,
        [
            {"q": MEETING, "expect": "meeting_participants", "category": "answerable"},
            {"q": TRADE, "expect": ["trade_turnover_2021"], "category": "answerable"},
            {"q": OFF_TOPIC, "category": "off_topic"},
            {"q": "What is the population of Azerbaijan?", "category": "near_miss"},
            {"q": "hello", "category": "chit_chat"},
        ],
    )
    done = run("eval", str(path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    row = r"\s*all (\w+)\s+(\d+)/(\d+)\s+\d+\.\d%"
    rows = {m[1]: (int(m[2]), int(m[3])) for m in map(re.compile(row).fullmatch, lines) if m}
    assert set(rows) == {"answerable", "near_miss", "off_topic", "chit_chat"}
    assert rows["answerable"] == (2, 2)
    assert rows["off_topic"] == (1, 1)
    assert rows["near_miss"][1] == rows["chit_chat"][1] == 1
    assert any(re.fullmatch(r"wrong: \d+", line) for line in lines)


@pytest.mark.slow  # seconds of real work; the fast loop skips it
@pytest.mark.parametrize(
    ("cases", "piece"),
    [
        ([{"q": MEETING, "expect": "no_such_fact", "category": "answerable"}], "unknown fact id"),
        ([{"q": MEETING, "expect": 5, "category": "answerable"}], "'expect' must be"),
        ([{"q": MEETING, "category": "trivia"}], "category must be one of"),
        ([{"question": MEETING, "category": "off_topic"}], "needs a string 'q'"),
    ],
)
def test_eval_refuses_a_bad_question_set(
    tmp_path: Path, cases: list[dict[str, Any]], piece: str
) -> None:
    assert_clean_failure(run("eval", str(_question_set(tmp_path, cases))), piece)


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_eval_missing_question_set(tmp_path: Path) -> None:
    assert_clean_failure(run("eval", str(tmp_path / "nope.yaml")), "question set not found")


# --- configuration errors ------------------------------------------------------------------


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "command", fast_first([(["ask", MEETING],), (["chat"],), (["check"],), (["eval", "x.yaml"],)])
)
def test_missing_config(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "nope.yaml"
    done = run(*command, "--config", str(path))
    assert_clean_failure(done, "config error", str(path), "config file not found")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "piece"),
    fast_first(
        [
            ("knowledge: [unclosed\n", "YAML syntax error"),
            ("knowledge:\n  facts: a\n   article: b\n", "YAML syntax error"),
            ("knowlege:\n  facts: ../x.yaml\n", "unknown key knowlege"),
            ("matching:\n  answer_treshold: 60\n", "unknown key matching.answer_treshold"),
            ("matching:\n  answer_threshold: high\n", "matching.answer_threshold must be"),
            ("telegram:\n  mode: carrier-pigeon\n", "telegram.mode must be"),
            ("- just\n- a list\n", "top level must be dict"),
        ]
    ),
)
def test_bad_config(tmp_path: Path, text: str, piece: str) -> None:
    path = _config(tmp_path, text)
    done = run("ask", "--config", str(path), MEETING)
    assert_clean_failure(done, "config error", str(path), piece)
    assert done.stderr.count("\n") == 1
    assert done.stdout == ""


def test_bad_environment_is_a_config_error() -> None:
    done = run("check", env=cli_env(BOT_ADMINS="12,abc"))
    assert_clean_failure(done, "BOT_ADMINS", "'abc'")


def test_missing_knowledge_file(tmp_path: Path) -> None:
    path = _config(tmp_path, f"knowledge:\n  facts: nope.yaml\n  article: {ARTICLE}\n")
    done = run("ask", "--config", str(path), MEETING)
    assert_clean_failure(done, "knowledge base error", str(tmp_path / "nope.yaml"), "not found")


def test_missing_article(tmp_path: Path) -> None:
    path = _config(tmp_path, f"knowledge:\n  facts: {FACTS}\n  article: gone.txt\n")
    done = run("chat", "--config", str(path), stdin=MEETING)
    assert_clean_failure(done, "knowledge base error", str(tmp_path / "gone.txt"))


def test_broken_knowledge_file_stops_ask(tmp_path: Path) -> None:
    broken = BROKEN / "duplicate_ids.yaml"
    path = _config(tmp_path, f"knowledge:\n  facts: {broken}\n  article: {ARTICLE}\n")
    done = run("ask", "--config", str(path), MEETING)
    assert_clean_failure(done, "knowledge base error", "duplicate id")


def test_no_command_is_a_usage_error() -> None:
    done = run()
    assert done.returncode == 2
    assert "usage:" in done.stderr
    assert "Traceback" not in done.stderr


# --- paths in the config -------------------------------------------------------------------


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_config_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    """A relative --config (from the working folder), whose relative paths are from it."""
    (tmp_path / "conf").mkdir()
    (tmp_path / "kb").mkdir()
    (tmp_path / "work").mkdir()
    data = yaml.safe_load(FACTS.read_text(encoding="utf-8"))
    for fact in data["facts"]:
        if fact["id"] == "trade_turnover_2021":
            fact["answer"] = "MARKER: the copy was read."
    (tmp_path / "kb" / "facts.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    (tmp_path / "kb" / "article.txt").write_bytes(ARTICLE.read_bytes())
    shutil.copytree(FACTS.parent / "lexicon", tmp_path / "kb" / "lexicon")
    (tmp_path / "conf" / "bot.yaml").write_text(
        "knowledge:\n  facts: ../kb/facts.yaml\n  article: ../kb/article.txt\n",
        encoding="utf-8",
    )
    config = os.path.join("..", "conf", "bot.yaml")
    done = run("ask", "--json", "--config", config, TRADE, cwd=tmp_path / "work")
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["fact_id"] == "trade_turnover_2021"
    assert reply["answer"] == "MARKER: the copy was read."
    checked = run("check", "--config", config, cwd=tmp_path / "work")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"{(tmp_path / 'kb' / 'facts.yaml').resolve()}: OK:")


def test_run_flags_override_the_config() -> None:
    """--mode webhook without a URL is refused before anything starts, naming the setting."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--mode", "webhook"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))},
    )
    assert result.returncode == 1
    assert "webhook mode needs telegram.webhook.url" in result.stderr
    assert "Traceback" not in result.stderr


# --- converse ------------------------------------------------------------------------------


def test_converse_keeps_context_per_conversation_and_survives_bad_lines() -> None:
    lines = [
        {"conversation": "a", "text": "How much was the trade turnover in 2021?", "at": 0},
        {"conversation": 7, "text": "Who is Derya Yanik?", "at": 0},
        "not json",
        {"conversation": "a", "text": "and in 2023?", "at": 30},
        {"conversation": 7, "text": "what did she stress?", "at": 30},
        {"conversation": "a", "text": 5},
        {"conversation": "b", "text": "and in 2023?", "at": 30},
        {"conversation": 7, "text": "what did she stress?", "at": 100_000},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    done = run("converse", "--json", "-", stdin=stdin)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == len(lines)  # one line per input line, errors included
    assert out[2] == {"error": "line 3: not JSON (Expecting value at column 1)"}
    assert out[5] == {"error": "line 6: 'text' must be a string"}
    assert [o.get("conversation") for o in out[:2]] == ["a", 7]
    assert out[3]["fact_id"] == "trade_target_2023"  # "and in 2023?" after the 2021 figure
    assert out[4]["fact_id"] in ("yanik_children", "yanik_family_support")
    # Another conversation has no context; a stale one has lost it.
    assert out[6]["conversation"] == "b"
    assert out[7]["fact_id"] not in ("yanik_children", "yanik_family_support")


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_converse_gives_each_part_of_a_message() -> None:
    stdin = json.dumps(
        {"conversation": 1, "text": "How much was trade in 2021 and what is the target for 2023?"}
    )
    done = run("converse", "--json", "-", stdin=stdin + "\n")
    (reply,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert [p["fact_id"] for p in reply["parts"]] == ["trade_turnover_2021", "trade_target_2023"]
    assert reply["answered"] is True
    assert reply["quote"] == "\n".join(p["quote"] for p in reply["parts"])


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_chat_handles_commands_numbers_and_empty_input_as_telegram(kb: KnowledgeBase) -> None:
    _, blocks = chat(["/foo", "", OFF_TOPIC, "7", "/topics", "/reload", "bye", "exit", MEETING])
    unknown, empty, declined, seven, topics, reloaded, bye = blocks  # nothing after "exit"
    assert unknown.startswith("How to use this bot")  # Telegram answers /foo with /help
    assert empty.startswith("Ask me about this article")  # and an empty message with /start
    assert len(_offered(declined)) == 3
    assert seven.strip() == "Type a number from 1 to 3 to pick a question, or ask your own."
    for fact in kb.facts:  # each question once, numbered
        assert topics.count(fact.question_in("en")) == 1
    assert reloaded.startswith("Reloaded ") and f"{len(kb.facts)} facts" in reloaded
    assert "goodbye" in bye.lower() or "bye" in bye.lower()


def _chat_on_a_copy(tmp_path: Path) -> tuple[list[str], Path]:
    """The chat command on a copy of the knowledge and config folders, and its facts file."""
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    (tmp_path / "config").mkdir()
    shutil.copyfile(ROOT / "config" / "bot.yaml", tmp_path / "config" / "bot.yaml")
    command = [
        sys.executable,
        "-m",
        "bot",
        "chat",
        "--config",
        str(tmp_path / "config" / "bot.yaml"),
    ]
    return command, tmp_path / "knowledge" / "facts.yaml"


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_chat_reload_of_a_broken_file_keeps_the_old_knowledge(tmp_path: Path) -> None:
    command, facts = _chat_on_a_copy(tmp_path)
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(MEETING + "\n")
    proc.stdin.flush()
    first = proc.stdout.readline()
    facts.write_text("facts: [\n", encoding="utf-8")
    out, err = proc.communicate("/reload\n" + MEETING + "\n", timeout=60)
    assert proc.returncode == 0, err
    assert "Reload refused; the knowledge loaded before stays." in out
    assert "YAML syntax error" in out
    assert first.strip() and first.strip() in out  # the same answer after the refusal


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_chat_rereads_the_knowledge_file_when_it_is_saved(tmp_path: Path) -> None:
    """An editor's save is in the next reply, without /reload; a broken save keeps the old."""
    command, facts = _chat_on_a_copy(tmp_path)
    original = facts.read_text(encoding="utf-8")
    answer = "The article was written by Ayya Lmahamad."
    assert original.count(answer) == 1
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None

    def ask(question: str) -> str:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(question.encode() + b"\n/source\n")  # /source: the reply's end
        proc.stdin.flush()
        lines = []
        while not (line := _readline(proc.stdout, TIMEOUT).decode()).startswith("Title: "):
            lines.append(line)
        while _readline(proc.stdout, TIMEOUT).strip():  # the rest of the /source card
            pass
        return "".join(lines[:-1])  # without the card's heading

    try:
        assert answer in ask("Who wrote this article?")
        facts.write_text(original.replace(answer, "Ayya Lmahamad wrote it (edited)."), "utf-8")
        edited = ask("Who wrote this article?")
        assert edited.startswith("Reloaded ") and "Ayya Lmahamad wrote it (edited)." in edited
        facts.write_text("facts: [\n", encoding="utf-8")
        broken = ask("Who wrote this article?")
        assert "Reload refused; the knowledge loaded before stays." in broken
        assert "Ayya Lmahamad wrote it (edited)." in broken
        assert "Reload" not in ask("Who wrote this article?")  # reported once, not per line
    finally:
        proc.kill()
        proc.communicate(timeout=TIMEOUT)  # reaps it and closes its pipes


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_chat_in_a_terminal_has_history_wraps_words_and_exits() -> None:
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: the chat, on the pseudo-terminal, 60 columns wide
        env = cli_env(COLUMNS="60", LINES="40", TERM="xterm")
        os.execvpe(sys.executable, [sys.executable, "-m", "bot", "chat"], env)

    def read_until(marker: bytes, timeout: float = 60.0) -> bytes:
        seen = b""
        while marker not in seen:
            ready, _, _ = select.select([fd], [], [], timeout)
            assert ready, f"no {marker!r} in {seen[-500:]!r}"
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            seen += chunk
        return seen

    try:
        read_until(b"> ")  # the greeting card, then the prompt
        os.write(fd, MEETING.encode() + b"\r")
        first = read_until(b"> ")
        os.write(fd, b"\x1b[A\r")  # Up arrow: the same question again, not "^[[A"
        again = read_until(b"> ")
        os.write(fd, b"quit\r")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert b"^[[A" not in again
    answer = [line for line in first.decode().splitlines() if "Babayev" in line]
    assert answer, first
    assert "Babayev" in again.decode()
    lines = [line.rstrip() for line in first.decode().splitlines()]
    assert all(len(line) <= 60 for line in lines if not line.startswith(">")), lines
    assert not any(line.endswith("Bab") for line in lines)  # whole words only


def test_a_near_miss_is_told_what_the_article_says_nearby() -> None:
    done = run(
        "ask", "--json", "-", stdin="trade between azerbaijan and iran?\n" + OFF_TOPIC + "\n"
    )
    near, off = [json.loads(line) for line in done.stdout.splitlines()]
    assert (near["answered"], near["nearby"]) == (False, "trade_turnover_2021")
    assert off["nearby"] is None  # off-topic: nothing is near
    plain = run("ask", "trade between azerbaijan and iran?").stdout
    assert plain.startswith("The article doesn't say that. Nearest, it says: As of 2021")


def test_a_time_the_article_gives_for_something_else_is_named_in_the_decline() -> None:
    """ "When did they meet?" is declined (the article does not say), and the decline says
    the one date it gives: its own; an unknown subject ("the Eiffel Tower") gets no such line."""
    asked = ["When did the ministers meet?", "When was the Eiffel Tower built?"]
    done = run("ask", "--json", "-", stdin="".join(q + "\n" for q in asked))
    met, tower = [json.loads(line) for line in done.stdout.splitlines()]
    assert (met["answered"], met["nearby"]) == (False, "article_date")
    assert (tower["answered"], tower["nearby"]) == (False, None)
