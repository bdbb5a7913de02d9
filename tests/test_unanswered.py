"""The unanswered-questions file read back: ``bot.unanswered``, ``python -m bot unanswered``,
the console chat's ``/unanswered`` and the Telegram admin command ``/unanswered``."""

from __future__ import annotations

import dataclasses
import html
import json
import subprocess
import tracemalloc
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes import harness as shared
from fakes.cli import bot_cli, cli_env
from fakes.harness import ADMIN, GROUP, ROOT, USER, Harness

from bot import safe_yaml, texts
from bot.budget import TELEGRAM_MAX_CHARS, telegram_length
from bot.cards import help_card
from bot.config import Settings
from bot.render_html import card_html
from bot.unanswered import (
    Summary,
    UnansweredFileError,
    paste_form,
    question_key,
    read_unanswered,
    render_html,
    render_plain,
    report,
    summarise,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def record(question: str, ago: timedelta = timedelta(hours=1), **extra: Any) -> str:
    """One line as ``record_unanswered`` writes it, asked ``ago`` before NOW."""
    entry = {
        "time": (NOW - ago).isoformat(timespec="seconds"),
        "question": question,
        "chat_type": "private",
        "verdict": "no_answer",
        "score": 12.5,
        "language": "en",
        "suggestions": [],
        "knowledge_digest": "0123456789abcdef",
        **extra,
    }
    return json.dumps(entry, ensure_ascii=False)


def write(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# The module


def test_questions_group_by_case_spacing_and_trailing_punctuation(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.jsonl",
        [
            record("who is she"),
            record("Who is she?"),
            record("  WHO is   she ?! "),
            record("Who is she?", language="tr"),
            record("Who is he?"),
        ],
    )
    summary = read_unanswered(path, now=NOW)
    assert summary.asked == 5 and summary.distinct == 2
    she, he = summary.entries
    assert (she.count, she.question, she.language) == (4, "Who is she?", "en")
    assert (he.count, he.question) == (1, "Who is he?")
    assert question_key("  WHO is\tshe ?! ") == question_key("who is she") == "who is she"
    assert question_key("Кто она？") == question_key("кто она")  # full-width "?" too


def test_only_the_window_counts_relative_to_the_given_now(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.jsonl",
        [
            record("yesterday", timedelta(days=1)),
            record("last month", timedelta(days=29, hours=23)),
            record("too old", timedelta(days=31)),
            record("naive time counts as UTC", time=(NOW - timedelta(days=2)).isoformat()[:19]),
        ],
    )
    month = read_unanswered(path, now=NOW)
    assert [e.question for e in month.entries] == [
        "yesterday",
        "naive time counts as UTC",
        "last month",
    ]
    assert (month.asked, month.older, month.skipped) == (3, 1, 0)
    week = read_unanswered(path, days=7, now=NOW)
    assert [e.question for e in week.entries] == ["yesterday", "naive time counts as UTC"]
    assert week.older == 2
    # The same file a year later: nothing is recent any more.
    later = read_unanswered(path, now=NOW + timedelta(days=365))
    assert later.entries == () and later.older == 4
    assert "No unanswered questions in the last 30 days." in render_plain(later)
    assert "4 older ones fall outside that window." in render_plain(later)


def test_most_asked_first_then_most_recent_and_top_n(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.jsonl",
        [
            record("twice, long ago", timedelta(days=5)),
            record("twice, long ago", timedelta(days=4)),
            record("twice, lately", timedelta(days=2)),
            record("twice, lately", timedelta(hours=3)),
            record("once, old", timedelta(days=3)),
            record("thrice", timedelta(days=9)),
            record("thrice", timedelta(days=8)),
            record("thrice", timedelta(days=7)),
            record("once, new", timedelta(minutes=5)),
        ],
    )
    summary = read_unanswered(path, now=NOW)
    assert [(e.question, e.count) for e in summary.entries] == [
        ("thrice", 3),
        ("twice, lately", 2),
        ("twice, long ago", 2),
        ("once, new", 1),
        ("once, old", 1),
    ]
    assert summary.entries[1].last == NOW - timedelta(hours=3)
    top = read_unanswered(path, top=2, now=NOW)
    assert [e.question for e in top.entries] == ["thrice", "twice, lately"]
    assert top.distinct == 5
    assert render_plain(top).endswith("3 more not shown.")


def test_lines_that_are_no_records_are_skipped_and_reported_once(tmp_path: Path) -> None:
    good = [record(f"question {n}") for n in range(16)]
    path = write(
        tmp_path / "u.jsonl",
        [
            *good[:15],
            "",  # a blank line is passed over, not counted
            "{not json",  # line 17
            record("question 15"),
            '["a", "list"]',
            '{"question": 5, "time": "2026-12-03T10:00:00+00:00"}',
            "   ",
        ],
    )
    summary = read_unanswered(path, now=NOW)
    assert summary.asked == 16
    assert summary.skipped == 3 and summary.first_skipped == 17
    note = "3 lines skipped (not unanswered-question records): first at line 17"
    assert summary.skipped_note() == note
    assert render_plain(summary).count("skipped") == 1 and note in render_plain(summary)
    assert html.escape(note, quote=False) in render_html(summary)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('{"time": "2026-12-03T10:00:00+00:00"}', "no question"),
        ('{"question": "no time at all"}', "no time"),
        ('{"question": "q", "time": "yesterday"}', "no ISO time"),
        ('{"question": "q", "time": 1764756000}', "time not a string"),
        ('{"question": "q", "time": "9999-12-31T23:59:59-01:00"}', "time beyond year 9999"),
        ("12345678901234567890" * 300, "a number too long"),
        ("null", "not an object"),
        ('"just a string"', "not an object"),
    ],
)
def test_each_kind_of_odd_line_is_one_skipped_line(tmp_path: Path, line: str, why: str) -> None:
    path = write(tmp_path / "u.jsonl", [record("fine"), line])
    summary = read_unanswered(path, now=NOW)
    assert [e.question for e in summary.entries] == ["fine"], why
    assert summary.skipped_note() == (
        "1 line skipped (not an unanswered-question record): line 2"
    ), why


def test_an_overlong_line_and_undecodable_bytes_are_survived(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    with path.open("wb") as handle:
        handle.write(b"x" * (3 << 20) + b"\n")  # 3 MiB: no record the bot writes
        handle.write(record("after the long line").encode() + b"\n")
        handle.write(b'{"question": "caf\xe9 \xff", "time": "2026-12-03T10:00:00Z"}\n')
        handle.write(record("a half-written last line").encode()[:40])  # the bot was appending
    summary = read_unanswered(path, now=NOW)
    assert [e.question for e in summary.entries] == ["after the long line", "caf\ufffd \ufffd"]
    assert (summary.skipped, summary.first_skipped) == (2, 1)


@pytest.mark.parametrize(
    "question",
    [
        "who is she?",
        'What did "the minister" say?',
        "key: value? and - dash",
        "back\\slash \\n not a newline",
        "# not a comment",
        "- not a list",
        "'single' and `back`",
        "Кто она? Nə vaxt? Ne zaman?",
        "two\nlines\tand a tab",
        "emoji 😀 and \u2028 a line separator",
        "null",
        "yes",
        "1:0:0",
        "  spaces around  ",
        "x" * 500,
    ],
)
def test_the_paste_form_reads_back_as_the_question(question: str) -> None:
    line = paste_form(question)
    assert "\n" not in line and line.startswith('- "')
    assert yaml.safe_load(line) == [question]
    # ... and pasted under a fact's questions: it is one more phrasing for the project's loader
    pasted = f"facts:\n  - id: x\n    questions:\n      - Who?\n      {line}\n"
    assert safe_yaml.load(pasted)["facts"][0]["questions"] == ["Who?", question]


def test_json_entries_carry_the_paste_form(tmp_path: Path) -> None:
    path = write(tmp_path / "u.jsonl", [record('a "quoted": one', language="ru")] * 2)
    (entry,) = read_unanswered(path, now=NOW).entries
    assert entry.to_json() == {
        "question": 'a "quoted": one',
        "count": 2,
        "language": "ru",
        "last": "2026-12-03T11:00:00+00:00",
        "phrasing": '- "a \\"quoted\\": one"',
    }


@pytest.mark.slow  # 50,000 lines under tracemalloc
def test_a_big_file_is_streamed_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    lines = 50_000
    with path.open("w", encoding="utf-8") as handle:
        for n in range(lines):
            handle.write(record(f"Question number {n % 40}?") + "\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        summary = read_unanswered(path, now=NOW)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary.asked == lines and summary.distinct == 40
    assert summary.entries[0].count == lines // 40
    # The file is ~12 MB; its records as dicts would be several times that.
    assert peak < size / 20, f"peak {peak} bytes for a {size}-byte file"


@pytest.mark.slow  # a million lines, a few seconds
def test_a_file_of_a_million_lines(tmp_path: Path) -> None:
    path = tmp_path / "million.jsonl"
    template = '{"time":"2026-12-03T10:00:00Z","question":"Q%d?","language":"en"}\n'
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(template % (n % 1000) for n in range(1_000_000))
    summary = read_unanswered(path, top=5, now=NOW)
    assert summary.asked == 1_000_000 and summary.distinct == 1000
    assert [e.count for e in summary.entries] == [1000] * 5


def test_summarise_takes_any_iterable_of_lines() -> None:
    summary = summarise(iter([record("a"), record("A."), None]), now=NOW)
    # One group; of two spellings asked once each, the first seen is shown.
    assert [(e.question, e.count) for e in summary.entries] == [("a", 2)]
    assert (summary.skipped, summary.first_skipped) == (1, 3)


def test_missing_or_unreadable_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UnansweredFileError, match=r"unanswered-questions file not found: .*nope"):
        read_unanswered(tmp_path / "nope.jsonl")
    with pytest.raises(UnansweredFileError, match="is a folder"):
        read_unanswered(tmp_path)


def test_report_says_what_is_wrong_instead_of_a_list(tmp_path: Path) -> None:
    assert "logging.unanswered_file" in report(None)
    assert report(tmp_path / "not-yet.jsonl") == texts.ENGLISH.unanswered_not_yet
    empty = write(tmp_path / "empty.jsonl", [])
    assert report(empty, now=NOW).splitlines() == [
        "Unanswered questions of the last 30 days",
        "No unanswered questions in the last 30 days.",
    ]
    assert report(tmp_path, html=True).startswith("Cannot read the unanswered-questions file: ")
    assert report(None, "ru").startswith("Файл вопросов без ответа не задан")


def test_html_is_escaped_and_within_telegram_limit(tmp_path: Path) -> None:
    nasty = [f"<b>{n}</b> & {'long words ' * 400}?" for n in range(25)]
    path = write(tmp_path / "u.jsonl", [record(q) for q in nasty])
    summary = read_unanswered(path, now=NOW)
    text = render_html(summary)
    assert telegram_length(text) <= TELEGRAM_MAX_CHARS
    assert "<b>0</b>" not in text and "&lt;b&gt;" in text
    shown = text.count("<code>")
    assert 0 < shown < 20
    assert text.endswith(f"{25 - shown} more not shown.")
    assert text.startswith("<b>Unanswered questions of the last 30 days</b>\n")


def test_html_puts_each_paste_form_in_code(tmp_path: Path) -> None:
    path = write(tmp_path / "u.jsonl", [record('who is "she"?'), record('Who is "she"')])
    text = render_html(read_unanswered(path, now=NOW), "tr")
    assert text.startswith("<b>Son 30 günün yanıtlanamayan soruları</b>")
    assert "1. 2× · en · son: 2026-12-03 11:00 UTC" in text
    assert '<code>- "who is \\"she\\"?"</code>' in text
    plain = render_plain(read_unanswered(path, now=NOW))
    assert '   - "who is \\"she\\"?"' in plain.splitlines()


def test_summary_defaults() -> None:
    empty = Summary((), 30, 0, 0)
    assert empty.skipped_note() is None
    assert render_html(empty).count("\n") == 1


# ------------------------------------------------------------------------------------------
# python -m bot unanswered


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return bot_cli("unanswered", *args, cwd=cwd)


def recent(question: str, **extra: Any) -> str:
    """A record from an hour ago by the real clock (the CLI has no fake one)."""
    when = datetime.now(UTC) - timedelta(hours=1)
    return record(question, time=when.isoformat(timespec="seconds"), **extra)


def config_with(tmp_path: Path, unanswered: str | None) -> Path:
    path = tmp_path / "bot.yaml"
    text = (
        f"knowledge:\n  facts: {ROOT / 'knowledge' / 'facts.yaml'}\n"
        f"  article: {ROOT / 'knowledge' / 'article.txt'}\n"
    )
    if unanswered is not None:
        text += f"logging:\n  unanswered_file: {unanswered}\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_lists_the_file_and_reports_skipped_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.jsonl",
        [recent("Who is she?"), recent("who is she"), "oops", recent("Кто она?", language="ru")],
    )
    done = run_cli(str(path), "--top", "1")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "Unanswered questions of the last 30 days"
    assert "1 line skipped (not an unanswered-question record): line 3" in lines
    assert lines[-3].startswith("1. 2× · en · last asked ")
    assert lines[-2:] == ['   - "Who is she?"', "1 more not shown."]


def test_cli_json_is_a_list_for_scripts(tmp_path: Path) -> None:
    path = write(
        tmp_path / "u.jsonl",
        [recent('a: "b"'), record("older", timedelta(days=9999)), "[1]", "{}"],
    )
    done = run_cli(str(path), "--json", "--days", "7")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    assert [(e["question"], e["count"]) for e in entries] == [('a: "b"', 1)]
    assert yaml.safe_load(entries[0]["phrasing"]) == ['a: "b"']
    assert done.stderr == "2 lines skipped (not unanswered-question records): first at line 3\n"
    empty = run_cli(str(write(tmp_path / "e.jsonl", [])), "--json")
    assert empty.returncode == 0 and json.loads(empty.stdout) == []


def test_cli_takes_the_file_from_the_config(tmp_path: Path) -> None:
    write(tmp_path / "logs.jsonl", [recent("from the config")])
    done = run_cli("--config", str(config_with(tmp_path, "logs.jsonl")), "--json")
    assert done.returncode == 0, done.stderr
    assert [e["question"] for e in json.loads(done.stdout)] == ["from the config"]


def test_cli_without_a_file_names_the_config_key_and_exits_2(tmp_path: Path) -> None:
    config = config_with(tmp_path, None)
    done = run_cli("--config", str(config))
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert "logging.unanswered_file" in done.stderr and str(config) in done.stderr


def test_cli_missing_file_is_one_error_line(tmp_path: Path) -> None:
    done = run_cli(str(tmp_path / "nope.jsonl"))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"error: unanswered-questions file not found: {tmp_path / 'nope.jsonl'}\n"
    configured = run_cli("--config", str(config_with(tmp_path, "gone.jsonl")))
    assert configured.returncode == 1
    assert configured.stderr.count("\n") == 1 and "gone.jsonl" in configured.stderr


@pytest.mark.parametrize("flag", [["--days", "0"], ["--top", "-1"], ["--days", "many"]])
def test_cli_bad_numbers_are_usage_errors(tmp_path: Path, flag: list[str]) -> None:
    done = run_cli(str(tmp_path), *flag)
    assert done.returncode == 2 and "usage:" in done.stderr and "Traceback" not in done.stderr


# ------------------------------------------------------------------------------------------
# The console chat


def test_console_chat_answers_unanswered_as_telegram_does(tmp_path: Path) -> None:
    write(tmp_path / "logs.jsonl", [recent("Who won the cup?"), recent("who won the cup")])
    env = cli_env()

    def chat(config: Path) -> str:
        done = bot_cli("chat", "--config", str(config), stdin="/unanswered\n", env=env)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return done.stdout

    out = chat(config_with(tmp_path, "logs.jsonl"))
    assert out.startswith("Unanswered questions of the last 30 days\n")
    assert '   - "Who won the cup?"' in out and "1. 2× · en" in out
    (tmp_path / "none").mkdir()
    assert chat(config_with(tmp_path / "none", None)) == texts.ENGLISH.unanswered_no_file + "\n\n"


# ------------------------------------------------------------------------------------------
# Telegram: /unanswered, admins only


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(
        shared.make_settings(tmp_path), unanswered_file=tmp_path / "unanswered.jsonl"
    )


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    async with shared.open_harness(settings) as h:
        yield h


def sent_text(calls: list[tuple[str, dict[str, Any]]], chat_id: int) -> str:
    assert [method for method, _ in calls] == ["sendMessage"]
    params = calls[0][1]
    assert params["chat_id"] == chat_id
    return str(params["text"])


async def test_admin_gets_the_list_of_what_users_asked(
    harness: Harness, settings: Settings
) -> None:
    # Real unanswered questions, recorded by the bot itself.
    for question in ("Who won the World Cup?", "who won the world cup", "What is <b>?"):
        await harness.ask(question)
    assert settings.unanswered_file is not None and settings.unanswered_file.exists()
    calls = await harness.ask("/unanswered", chat_id=ADMIN, from_id=ADMIN)
    text = sent_text(calls, ADMIN)
    assert calls[0][1]["parse_mode"] == "HTML"
    assert text == report(settings.unanswered_file, html=True)
    assert text.startswith("<b>Unanswered questions of the last 30 days</b>\n3 asked, 2 different")
    assert '<code>- "Who won the World Cup?"</code>' in text
    assert '<code>- "What is &lt;b&gt;?"</code>' in text
    assert text.index("World Cup") < text.index("&lt;b&gt;")  # asked twice comes first


async def test_non_admin_is_refused_and_sees_no_question(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.ask("Who won the World Cup?")
    calls = await harness.ask("/unanswered")
    assert calls == [("sendMessage", {"chat_id": USER, "text": texts.ENGLISH.not_admin})]
    assert any(
        "refused /unanswered" in r.getMessage() and f"user={USER}" in r.getMessage()
        for r in caplog.records
    )
    in_group = await harness.ask("/unanswered", chat_id=GROUP)
    assert "World Cup" not in sent_text(in_group, GROUP)
    assert in_group[0][1]["text"] == texts.ENGLISH.not_admin


async def test_admin_in_a_group_is_sent_to_a_private_chat(harness: Harness) -> None:
    await harness.ask("Who won the World Cup?")
    calls = await harness.ask("/unanswered", chat_id=GROUP, from_id=ADMIN)
    text = sent_text(calls, GROUP)
    assert text == html.escape(texts.ENGLISH.unanswered_private_only, quote=False)
    assert "World Cup" not in text


async def test_admin_is_told_when_there_is_nothing_to_list(
    harness: Harness, settings: Settings
) -> None:
    calls = await harness.ask("/unanswered", chat_id=ADMIN, from_id=ADMIN)
    assert sent_text(calls, ADMIN) == texts.ENGLISH.unanswered_not_yet  # no file written yet
    assert settings.unanswered_file is not None
    settings.unanswered_file.write_text("", encoding="utf-8")
    calls = await harness.ask("/unanswered", chat_id=ADMIN, from_id=ADMIN)
    assert "No unanswered questions in the last 30 days." in sent_text(calls, ADMIN)


async def test_admin_is_told_when_no_file_is_configured(tmp_path: Path) -> None:
    async with shared.open_harness(shared.make_settings(tmp_path)) as h:
        calls = await h.ask("/unanswered", chat_id=ADMIN, from_id=ADMIN)
    text = sent_text(calls, ADMIN)
    assert "logging.unanswered_file" in text
    assert text == html.escape(texts.ENGLISH.unanswered_no_file, quote=False)


async def test_the_admin_help_and_menu_list_unanswered(harness: Harness) -> None:
    assert "/unanswered" in card_html(help_card(harness.engine, admin=True))
    assert "/unanswered" not in card_html(help_card(harness.engine, admin=False))
    calls = await harness.ask("/help", chat_id=ADMIN, from_id=ADMIN)
    assert f"/unanswered - {texts.ENGLISH.commands['unanswered']}" in calls[0][1]["text"]


async def test_the_file_is_read_off_the_event_loop(
    harness: Harness, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import threading

    from bot.telegram import handlers

    readers: list[bool] = []
    real_to_thread = asyncio.to_thread

    async def spy(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            readers.append(threading.current_thread() is not threading.main_thread())
            return function(*args, **kwargs)

        return await real_to_thread(call)

    monkeypatch.setattr(handlers.asyncio, "to_thread", spy)
    assert settings.unanswered_file is not None
    write(settings.unanswered_file, [recent("Who won the cup?")])
    calls = await harness.ask("/unanswered", chat_id=ADMIN, from_id=ADMIN)
    assert "Who won the cup?" in sent_text(calls, ADMIN)
    assert True in readers  # the report was made in a worker thread
