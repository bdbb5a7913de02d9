"""Offline tests of the Telegram handlers through ``Application.process_update``.

The bot's network is replaced by :class:`RecordingRequest`, which records every Bot API call
and answers with canned JSON, so each test asserts the exact payloads the bot sends. Which
fact a borderline question gets is the matcher's business: expected texts are computed from
the same engine, and only clear questions are used.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import importlib.util
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes import harness as shared
from fakes.harness import (
    ADMIN,
    ANONYMOUS_ADMIN_BOT,
    CHANNEL,
    GROUP,
    OTHER,
    ROOT,
    TOKEN,
    USER,
    Harness,
    chat,
    message,
    person,
    text_update,
    update,
)
from fakes.recording_request import BOT_ID, BOT_USERNAME
from telegram.constants import ParseMode
from telegram.ext import CommandHandler

from bot import texts
from bot.cards import help_card, source_card, start_card, topics_card
from bot.commands import command_menu
from bot.config import Settings
from bot.conversation import Conversations
from bot.engine import Engine
from bot.knowledge_model import Fact
from bot.matcher import Verdict
from bot.ratelimit import RateLimiter
from bot.render_html import card_html, render_html
from bot.replies import reply_to, reply_to_fact
from bot.telegram import handlers as tg_handlers
from bot.telegram.app import file_url_for, run
from bot.telegram.filters import mentions, strip_mention
from bot.telegram.hooks import post_init, post_shutdown, publish_menus
from bot.telegram.keyboards import button_label, callback_data, fact_for_callback
from bot.telegram.lifecycle import Lifecycle
from bot.telegram.state import TelegramApp
from bot.wording import suggestion_label

CLEAR_QUESTION = "Who met whom?"
CLEAR_QUESTION_2 = "What was the trade turnover in 2021?"
NEAR_MISS = "What was the trade turnover between Azerbaijan and Russia?"
ADDED_QUESTION = "What does the zebra committee recommend?"
ADDED_FACT: dict[str, Any] = {
    "id": "test_added_fact",
    "questions": [ADDED_QUESTION],
    "answer": "The zebra committee is a test fact added by the reload test.",
    "quote": "Azerbaijan and Turkiye have discussed the cooperation between the two countries",
}


# ------------------------------------------------------------------------------------------
# Updates and the harness: tests/fakes/harness.py, with unanswered questions recorded and the
# first engine built once per knowledge content


def bot_message(chat_id: int, text: str = "An earlier answer.") -> dict[str, Any]:
    return message(text, chat_id=chat_id, from_id=BOT_ID)


def make_settings(tmp_path: Path, **telegram: Any) -> Settings:
    """The shared test settings, recording unanswered questions in ``tmp_path``."""
    return dataclasses.replace(
        shared.make_settings(tmp_path, **telegram), unanswered_file=tmp_path / "unanswered.jsonl"
    )


@asynccontextmanager
async def open_harness(
    settings: Settings, limiter: RateLimiter | None = None
) -> AsyncIterator[Harness]:
    async with shared.open_harness(settings, limiter=limiter) as h:
        yield h


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    async with open_harness(settings) as h:
        yield h


# ------------------------------------------------------------------------------------------
# Expected payloads, computed independently of the module under test


def expected_markup(facts: tuple[Fact, ...], language: str = "en") -> dict[str, Any]:
    rows = []
    for fact in facts:
        label = suggestion_label(fact, language)
        if len(label) > 64:
            label = label[:63] + "…"
        rows.append([{"text": label, "callback_data": f"fact:{fact.id}"}])
    return {"inline_keyboard": rows}


def expected_message(
    chat_id: int,
    text: str,
    facts: tuple[Fact, ...] = (),
    reply_to: int | None = None,
    language: str = "en",
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
    if facts:
        params["reply_markup"] = expected_markup(facts, language)
    if reply_to is not None:
        # Defaults(parse_mode=HTML) reaches the reply parameters too (ignored with no quote)
        params["reply_parameters"] = {"message_id": reply_to, "quote_parse_mode": "HTML"}
    return ("sendMessage", params)


def write_facts_with(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def add_fact(data: dict[str, Any]) -> None:
    data["facts"].append(dict(ADDED_FACT))


# ------------------------------------------------------------------------------------------
# Questions in private chats


async def test_clear_question_is_answered_with_its_quote(harness: Harness) -> None:
    reply = reply_to(harness.engine, CLEAR_QUESTION)
    assert reply.fact is not None and reply.verdict is Verdict.ANSWER
    calls = await harness.ask(CLEAR_QUESTION)
    assert calls == [expected_message(USER, render_html(reply))]
    text = calls[0][1]["text"]
    assert text.startswith(reply.fact.answer)
    assert f"<blockquote>{' '.join(reply.fact.quote.split())}</blockquote>" in text
    assert "<i>Source: " in text


async def test_near_miss_says_the_article_does_not_say_and_offers_buttons(
    harness: Harness,
) -> None:
    reply = reply_to(harness.engine, NEAR_MISS)
    assert reply.fact is None and reply.suggestions
    calls = await harness.ask(NEAR_MISS)
    assert calls == [expected_message(USER, texts.ENGLISH.no_answer_suggest, reply.suggestions)]
    assert "doesn't say" in calls[0][1]["text"]


async def test_unanswered_question_is_logged_with_marker_and_recorded(
    harness: Harness, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    await harness.ask(NEAR_MISS)
    await harness.ask(CLEAR_QUESTION)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot.telegram.")]
    unanswered = [line for line in lines if line.startswith("UNANSWERED")]
    assert len(unanswered) == 1
    assert re.match(
        r"UNANSWERED chat=private user=2002 via=message fact=none verdict=no_answer "
        r"score=\d+\.\d latency_ms=\d+ lang=en question=\"What was the trade turnover",
        unanswered[0],
    )
    answered = [line for line in lines if line.startswith("QUESTION")]
    assert len(answered) == 1 and "verdict=answer" in answered[0]
    assert settings.unanswered_file is not None
    entries = [json.loads(x) for x in settings.unanswered_file.read_text().splitlines()]
    assert [e["question"] for e in entries] == [NEAR_MISS]
    assert entries[0]["chat_type"] == "private" and entries[0]["suggestions"]


async def test_tapping_a_suggestion_answers_the_query_then_sends_the_fact(
    harness: Harness,
) -> None:
    fact = harness.engine.kb.facts[0]
    shown = bot_message(USER, texts.ENGLISH.no_answer_suggest)
    calls = await harness.send(
        update(
            "callback_query",
            id="cbq-1",
            chat_instance="ci-1",
            data=f"fact:{fact.id}",
            message=shown,
            **{"from": person(USER)},
        )
    )
    direct = reply_to_fact(harness.engine, fact.id)
    assert direct is not None
    assert calls == [
        ("answerCallbackQuery", {"callback_query_id": "cbq-1"}),
        expected_message(USER, render_html(direct)),
    ]


async def test_tapping_a_button_for_a_removed_fact_offers_examples(
    harness: Harness, settings: Settings
) -> None:
    examples = tuple(
        f for f in (harness.engine.kb.fact(i) for i in harness.engine.kb.examples) if f
    )
    calls = await harness.send(
        update(
            "callback_query",
            id="cbq-2",
            chat_instance="ci-1",
            data="fact:no_such_fact_any_more",
            message=bot_message(USER),
            **{"from": person(USER)},
        )
    )
    assert calls == [
        ("answerCallbackQuery", {"callback_query_id": "cbq-2"}),
        expected_message(USER, texts.ENGLISH.fact_gone, examples),
    ]


# ------------------------------------------------------------------------------------------
# Groups


async def test_group_message_without_mention_is_ignored(harness: Harness) -> None:
    assert await harness.ask(CLEAR_QUESTION, chat_id=GROUP) == []
    assert await harness.send(update("message", **message(chat_id=GROUP, sticker=STICKER))) == []


async def test_group_mention_is_answered_without_the_mention(harness: Harness) -> None:
    data = text_update(f"@Article_QA_Bot {CLEAR_QUESTION}", chat_id=GROUP)
    calls = await harness.send(data)
    reply = reply_to(harness.engine, CLEAR_QUESTION)
    assert calls == [
        expected_message(GROUP, render_html(reply), reply_to=data["message"]["message_id"])
    ]


async def test_group_mention_of_another_bot_is_ignored(harness: Harness) -> None:
    assert await harness.ask(f"@{BOT_USERNAME}x {CLEAR_QUESTION}", chat_id=GROUP) == []


async def test_group_reply_to_the_bot_is_answered(harness: Harness) -> None:
    data = text_update(CLEAR_QUESTION_2, chat_id=GROUP, reply_to_message=bot_message(GROUP))
    calls = await harness.send(data)
    reply = reply_to(harness.engine, CLEAR_QUESTION_2)
    assert reply.fact is not None
    assert calls == [
        expected_message(GROUP, render_html(reply), reply_to=data["message"]["message_id"])
    ]


async def test_group_reply_to_someone_else_is_ignored(harness: Harness) -> None:
    other = message("hi", chat_id=GROUP, from_id=OTHER)
    assert await harness.ask(CLEAR_QUESTION, chat_id=GROUP, reply_to_message=other) == []


async def test_group_command_addressed_to_the_bot_is_answered(harness: Harness) -> None:
    data = text_update(f"/source@{BOT_USERNAME}", chat_id=GROUP)
    calls = await harness.send(data)
    card = source_card(harness.engine)
    assert calls == [
        expected_message(GROUP, card_html(card), reply_to=data["message"]["message_id"])
    ]
    assert await harness.ask("/source@some_other_bot", chat_id=GROUP) == []


# ------------------------------------------------------------------------------------------
# Inline mode


def inline_update(query: str) -> dict[str, Any]:
    return update("inline_query", id="iq-1", query=query, offset="", **{"from": person(USER)})


def expected_article(engine: Engine, fact: Fact) -> dict[str, Any]:
    direct = reply_to_fact(engine, fact.id)
    assert direct is not None
    return {
        "type": "article",
        "id": fact.id,
        "title": fact.answer,
        "description": " ".join(fact.quote.split()),
        "input_message_content": {"message_text": render_html(direct), "parse_mode": "HTML"},
    }


async def test_inline_query_offers_the_answer(harness: Harness) -> None:
    reply = reply_to(harness.engine, CLEAR_QUESTION)
    assert reply.fact is not None
    calls = await harness.send(inline_update(CLEAR_QUESTION))
    assert calls == [
        (
            "answerInlineQuery",
            {
                "inline_query_id": "iq-1",
                "results": [expected_article(harness.engine, reply.fact)],
                "cache_time": 10,
                "is_personal": False,
            },
        )
    ]


async def test_inline_query_without_answer_offers_the_suggestions(harness: Harness) -> None:
    reply = reply_to(harness.engine, NEAR_MISS)
    calls = await harness.send(inline_update(NEAR_MISS))
    assert [r["id"] for r in calls[0][1]["results"]] == [f.id for f in reply.suggestions]
    assert calls[0][1]["results"][0] == expected_article(harness.engine, reply.suggestions[0])


async def test_empty_inline_query_offers_the_examples(harness: Harness) -> None:
    calls = await harness.send(inline_update(""))
    assert [r["id"] for r in calls[0][1]["results"]] == list(harness.engine.kb.examples)


# ------------------------------------------------------------------------------------------
# Non-text messages

STICKER = {
    "file_id": "sticker-file",
    "file_unique_id": "sticker-unique",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}
LOCATION = {"latitude": 40.4, "longitude": 49.9}


async def test_non_text_in_private_gets_the_text_only_note(harness: Harness) -> None:
    for extra in ({"sticker": STICKER}, {"location": LOCATION}):
        calls = await harness.send(update("message", **message(**extra)))
        assert calls == [expected_message(USER, texts.ENGLISH.non_text)]


async def test_non_text_in_group_only_when_replying_to_the_bot(harness: Harness) -> None:
    assert await harness.send(update("message", **message(chat_id=GROUP, sticker=STICKER))) == []
    data = update(
        "message", **message(chat_id=GROUP, sticker=STICKER, reply_to_message=bot_message(GROUP))
    )
    calls = await harness.send(data)
    assert calls == [
        expected_message(GROUP, texts.ENGLISH.non_text, reply_to=data["message"]["message_id"])
    ]


# ------------------------------------------------------------------------------------------
# Commands


async def test_start_card_with_example_buttons(harness: Harness) -> None:
    card = start_card(harness.engine)
    assert card.suggestions
    assert await harness.ask("/start") == [
        expected_message(USER, card_html(card), card.suggestions)
    ]


async def test_help_card_for_users_and_for_admins(harness: Harness) -> None:
    user_card = help_card(harness.engine, admin=False)
    admin_card = help_card(harness.engine, admin=True)
    assert await harness.ask("/help") == [
        expected_message(USER, card_html(user_card), user_card.suggestions)
    ]
    assert await harness.ask("/help", chat_id=ADMIN, from_id=ADMIN) == [
        expected_message(ADMIN, card_html(admin_card), admin_card.suggestions)
    ]
    assert "/reload" not in card_html(user_card) and "/reload" in card_html(admin_card)


async def test_topics_card_lists_every_fact_as_a_button(harness: Harness) -> None:
    card = topics_card(harness.engine)
    assert len(card.suggestions) == len(harness.engine.kb.facts)
    assert await harness.ask("/topics") == [
        expected_message(USER, card_html(card), card.suggestions)
    ]


async def test_source_card(harness: Harness) -> None:
    card = source_card(harness.engine)
    assert await harness.ask("/source") == [expected_message(USER, card_html(card))]


async def test_unknown_command_in_private_gets_help(harness: Harness) -> None:
    card = help_card(harness.engine, admin=False)
    assert await harness.ask("/whatever") == [
        expected_message(USER, card_html(card), card.suggestions)
    ]


def menu_call(language: str | None, scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    commands = command_menu(language or "en", admin=scope["type"] == "chat")
    params: dict[str, Any] = {
        "commands": [{"command": n, "description": d} for n, d in commands],
        "scope": scope,
    }
    if language is not None:
        params["language_code"] = language
    return ("setMyCommands", params)


async def test_command_menus_in_every_language_for_everyone_and_admins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The admins' menus (with /reload) exist in every language, like everyone's; an admin
    Telegram refuses (never started the bot) is logged and skipped, not retried."""
    settings = make_settings(tmp_path, admins=frozenset({ADMIN, OTHER}))
    async with open_harness(settings) as h:

        def chat_not_found(method: str, params: dict[str, Any]) -> tuple[int, str] | None:
            scope = params.get("scope") or {}
            if method == "setMyCommands" and scope.get("chat_id") == OTHER:
                return 400, "Bad Request: chat not found"
            return None

        h.request.error_rules.append(chat_not_found)
        h.request.clear()
        await publish_menus(h.app.bot, settings.telegram.admins, Lifecycle())
        languages = (None, "tr", "az", "ru")
        assert h.request.calls == [
            *(menu_call(lang, {"type": "default"}) for lang in languages),
            *(menu_call(lang, {"type": "chat", "chat_id": ADMIN}) for lang in languages),
            *(menu_call(lang, {"type": "chat", "chat_id": OTHER}) for lang in languages),
        ]
        assert "reload" in [c["command"] for c in menu_call("ru", {"type": "chat"})[1]["commands"]]
        assert any(
            "chat 3003" in r.getMessage() and "chat not found" in r.getMessage().lower()
            for r in caplog.records
        )


async def test_post_init_does_not_wait_for_the_command_menus(tmp_path: Path) -> None:
    """A Bot API that never answers setMyCommands does not hold up the start."""
    async with open_harness(make_settings(tmp_path)) as h:
        never = asyncio.Event()
        original = h.request.do_request

        async def hanging(url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
            if url.endswith("/setMyCommands"):
                await never.wait()
            return await original(url, *args, **kwargs)

        h.request.do_request = hanging  # type: ignore[method-assign]
        await post_init(h.app)  # returns: the menus are a background task
        menus = h.state.menus
        assert menus is not None and not menus.done()
        assert (await h.ask(CLEAR_QUESTION))[-1][0] == "sendMessage"
        await post_shutdown(h.app)
        assert menus.cancelled()


async def test_failing_menus_are_retried_in_the_background(tmp_path: Path) -> None:
    async with open_harness(make_settings(tmp_path, admins=frozenset())) as h:
        failures = iter([True, True])

        def down(method: str, params: dict[str, Any]) -> tuple[int, str] | None:
            if method == "setMyCommands" and next(failures, False):
                return 502, "Bad Gateway"
            return None

        h.request.error_rules.append(down)
        h.request.clear()
        await publish_menus(h.app.bot, frozenset(), Lifecycle(), first_retry=0.0)
        calls = [params.get("language_code") for _, params in h.request.calls]
        assert calls == [None, None, None, "tr", "az", "ru"]


def registered_commands(app: TelegramApp) -> set[str]:
    return {
        command
        for handlers in app.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }


async def test_every_command_is_in_the_help_text(harness: Harness) -> None:
    commands = registered_commands(harness.app)
    assert commands == {"start", "help", "topics", "source", "reload", "unanswered"}
    calls = await harness.ask("/help", chat_id=ADMIN, from_id=ADMIN)
    for command in commands:
        assert f"/{command}" in calls[0][1]["text"]


async def test_every_command_is_in_the_readme(harness: Harness) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    missing = sorted(c for c in registered_commands(harness.app) if f"/{c}" not in text)
    assert not missing, f"README.md does not document: {', '.join('/' + c for c in missing)}"


# ------------------------------------------------------------------------------------------
# /reload


async def test_admin_reload_reports_the_added_fact_and_serves_it(
    harness: Harness, settings: Settings
) -> None:
    before = len(harness.engine.kb.facts)
    write_facts_with(settings.facts, add_fact)
    calls = await harness.ask("/reload", chat_id=ADMIN, from_id=ADMIN)
    assert len(calls) == 1 and calls[0][0] == "sendMessage"
    text = calls[0][1]["text"]
    assert f"{before} → {before + 1} facts" in text
    assert "Added: test_added_fact" in text
    assert "Removed: none" in text
    assert harness.holder.version == 2
    calls = await harness.ask(ADDED_QUESTION)
    reply = reply_to(harness.engine, ADDED_QUESTION)
    assert reply.fact is not None and reply.fact.id == "test_added_fact"
    assert calls == [expected_message(USER, render_html(reply))]


async def test_non_admin_reload_is_refused_and_nothing_is_reloaded(
    harness: Harness, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    engine = harness.engine
    write_facts_with(settings.facts, add_fact)
    calls = await harness.ask("/reload")
    assert calls == [("sendMessage", {"chat_id": USER, "text": texts.ENGLISH.not_admin})]
    assert harness.holder.engine is engine and harness.holder.version == 1
    assert any(
        "refused /reload" in r.getMessage() and f"user={USER}" in r.getMessage()
        for r in caplog.records
    )


async def test_broken_file_reload_reports_the_error_and_old_answers_keep_coming(
    harness: Harness, settings: Settings
) -> None:
    engine = harness.engine
    settings.facts.write_text("facts:\n  - id: [unclosed\n", encoding="utf-8")
    calls = await harness.ask("/reload", chat_id=ADMIN, from_id=ADMIN)
    text = calls[0][1]["text"]
    assert text.startswith("Reload refused: 1 problem(s) in facts.yaml.")
    assert f"Still serving the previous version ({len(engine.kb.facts)} facts)" in text
    assert harness.holder.engine is engine
    reply = reply_to(engine, CLEAR_QUESTION)
    assert await harness.ask(CLEAR_QUESTION) == [expected_message(USER, render_html(reply))]


async def test_reload_error_text_is_html_escaped(harness: Harness, settings: Settings) -> None:
    def bad_quote(data: dict[str, Any]) -> None:
        data["facts"].append({**ADDED_FACT, "quote": "<b>not & in the article</b>"})

    write_facts_with(settings.facts, bad_quote)
    calls = await harness.ask("/reload", chat_id=ADMIN, from_id=ADMIN)
    text = calls[0][1]["text"]
    assert calls[0][1]["parse_mode"] == "HTML"
    assert "&lt;b&gt;not &amp; in the article&lt;/b&gt;" in text and "<b>" not in text


def not_reloaded(harness: Harness, engine: Engine) -> bool:
    return harness.holder.engine is engine and harness.holder.version == 1


async def test_reload_forwarded_from_an_admin_is_refused(
    harness: Harness, settings: Settings
) -> None:
    engine = harness.engine
    write_facts_with(settings.facts, add_fact)
    origin = {"type": "user", "sender_user": person(ADMIN), "date": int(time.time())}
    # someone else forwards the admin's /reload, and the admin forwards their own
    for sender in (USER, ADMIN):
        calls = await harness.ask("/reload", chat_id=sender, from_id=sender, forward_origin=origin)
        assert calls == [("sendMessage", {"chat_id": sender, "text": texts.ENGLISH.not_admin})]
    assert not_reloaded(harness, engine)


async def test_reload_as_a_channel_post_is_refused(harness: Harness, settings: Settings) -> None:
    engine = harness.engine
    write_facts_with(settings.facts, add_fact)
    post = message("/reload", chat_id=CHANNEL, from_id=None, sender_chat=chat(CHANNEL))
    calls = await harness.send(update("channel_post", **post))
    assert calls == [
        (
            "sendMessage",
            {
                "chat_id": CHANNEL,
                "text": texts.ENGLISH.not_admin,
                "reply_parameters": {"message_id": post["message_id"], "quote_parse_mode": "HTML"},
            },
        )
    ]
    assert not_reloaded(harness, engine)


@pytest.mark.parametrize("admins", [frozenset({ADMIN}), frozenset({ADMIN, ANONYMOUS_ADMIN_BOT})])
async def test_reload_from_an_anonymous_group_admin_is_refused(
    tmp_path: Path, admins: frozenset[int]
) -> None:
    settings = make_settings(tmp_path, admins=admins)
    async with open_harness(settings) as h:
        engine = h.engine
        write_facts_with(settings.facts, add_fact)
        data = text_update(
            "/reload", chat_id=GROUP, from_id=ANONYMOUS_ADMIN_BOT, sender_chat=chat(GROUP)
        )
        calls = await h.send(data)
        assert calls == [
            (
                "sendMessage",
                {
                    "chat_id": GROUP,
                    "text": texts.ENGLISH.not_admin,
                    "reply_parameters": {
                        "message_id": data["message"]["message_id"],
                        "quote_parse_mode": "HTML",
                    },
                },
            )
        ]
        assert not_reloaded(h, engine)


@pytest.mark.slow  # a real build; the fast loop keeps a group reload in tests/test_access.py
async def test_admin_reload_in_a_group_works(harness: Harness, settings: Settings) -> None:
    write_facts_with(settings.facts, add_fact)
    calls = await harness.ask(f"/reload@{BOT_USERNAME}", chat_id=GROUP, from_id=ADMIN)
    assert "Added: test_added_fact" in calls[0][1]["text"]


async def test_message_edited_into_reload_does_nothing(
    harness: Harness, settings: Settings
) -> None:
    engine = harness.engine
    write_facts_with(settings.facts, add_fact)
    edited = message("/reload", chat_id=ADMIN, from_id=ADMIN, edit_date=int(time.time()))
    assert await harness.send(update("edited_message", **edited)) == []
    assert not_reloaded(harness, engine)


async def test_edited_question_is_not_answered_again(harness: Harness) -> None:
    edited = message(CLEAR_QUESTION, edit_date=int(time.time()))
    assert await harness.send(update("edited_message", **edited)) == []
    group_edit = message(f"@{BOT_USERNAME} {CLEAR_QUESTION}", chat_id=GROUP, edit_date=1)
    assert await harness.send(update("edited_message", **group_edit)) == []


# ------------------------------------------------------------------------------------------
# Flood control and errors


async def test_rate_limit_sends_one_note_per_window_then_silence(tmp_path: Path) -> None:
    now = [1000.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])
    async with open_harness(make_settings(tmp_path), limiter=limiter) as h:
        reply = reply_to(h.engine, CLEAR_QUESTION)
        answer = [expected_message(USER, render_html(reply))]
        assert await h.ask(CLEAR_QUESTION) == answer
        assert await h.ask(CLEAR_QUESTION) == answer
        assert await h.ask(CLEAR_QUESTION) == [expected_message(USER, texts.ENGLISH.rate_limited)]
        assert await h.ask(CLEAR_QUESTION) == []
        assert await h.send(update("message", **message(sticker=STICKER))) == []
        # another user is not affected
        assert await h.ask(CLEAR_QUESTION, chat_id=OTHER, from_id=OTHER) == [
            expected_message(OTHER, render_html(reply))
        ]
        now[0] += 61
        assert await h.ask(CLEAR_QUESTION) == answer


async def test_rate_limited_button_tap_is_still_answered_at_once(tmp_path: Path) -> None:
    limiter = RateLimiter(1, 60, clock=lambda: 5.0)
    async with open_harness(make_settings(tmp_path), limiter=limiter) as h:
        await h.ask(CLEAR_QUESTION)
        fact = h.engine.kb.facts[0]
        tap = {"chat_instance": "c", "data": f"fact:{fact.id}", "message": bot_message(USER)}
        first = await h.send(update("callback_query", id="a", **tap, **{"from": person(USER)}))
        second = await h.send(update("callback_query", id="b", **tap, **{"from": person(USER)}))
        assert first == [
            ("answerCallbackQuery", {"callback_query_id": "a", "text": texts.ENGLISH.rate_limited})
        ]
        assert second == [("answerCallbackQuery", {"callback_query_id": "b"})]


async def test_error_handler_apologises_logs_and_tells_the_admins(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError(f"matcher exploded; token {TOKEN}")

    monkeypatch.setattr(Conversations, "respond", broken)
    data = text_update(CLEAR_QUESTION)
    calls = await harness.send(data)
    by_chat = {params["chat_id"]: params for _, params in calls}
    assert [m for m, _ in calls] == ["sendMessage", "sendMessage"]
    assert by_chat[USER] == {"chat_id": USER, "text": texts.ENGLISH.error}
    report = by_chat[ADMIN]
    assert report["parse_mode"] == "HTML"
    assert f"update {data['update_id']}, chat {USER}" in report["text"]
    assert "RuntimeError: matcher exploded" in report["text"]
    assert "<pre>Traceback" in report["text"] and len(report["text"]) < 4096
    assert TOKEN not in report["text"] and TOKEN.split(":")[1] not in report["text"]
    errors = [
        r for r in caplog.records if r.levelno == logging.ERROR and r.name == tg_handlers.__name__
    ]
    assert errors[-1].exc_info is not None
    assert f"update={data['update_id']} user={USER} chat={USER}" in errors[-1].getMessage()


async def test_error_reports_to_admins_are_rate_limited(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three reports per ten minutes, then one note, then only the log."""

    def broken(*args: object) -> None:
        raise RuntimeError("x" * 10_000)  # a long message: the report is still short

    monkeypatch.setattr(Conversations, "respond", broken)
    to_admin = []
    for _ in range(6):
        calls = await harness.send(text_update(CLEAR_QUESTION))
        to_admin += [p["text"] for _, p in calls if p.get("chat_id") == ADMIN]
    assert len(to_admin) == 4
    assert all(text.startswith("An error occurred") for text in to_admin[:3])
    assert all(len(text) < 4096 for text in to_admin)
    assert "no more reports" in to_admin[3]


async def test_an_apology_telegram_refuses_is_dropped_and_logged(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Conversations, "respond", broken)
    harness.request.error_rules.append(
        lambda method, params: (
            (403, "Forbidden: bot was blocked")
            if method == "sendMessage" and params["chat_id"] == USER
            else None
        )
    )
    calls = await harness.ask(CLEAR_QUESTION)
    assert ("sendMessage", {"chat_id": USER, "text": texts.ENGLISH.error}) in calls
    assert any(
        "Telegram refused the reply" in r.getMessage() and "dropped" in r.getMessage()
        for r in caplog.records
    )
    assert harness.delivery.outbox.counts().get("dropped") == 1


# ------------------------------------------------------------------------------------------
# Small pure helpers


def test_mentions_and_strip_mention() -> None:
    assert mentions("hey @Article_QA_BOT, who met?", BOT_USERNAME)
    assert not mentions("mail me at x@article_qa_bot", BOT_USERNAME)
    assert not mentions("@article_qa_bot2 who met?", BOT_USERNAME)
    assert strip_mention("@article_qa_bot, who met whom?", BOT_USERNAME) == "who met whom?"
    assert strip_mention("who met whom @ARTICLE_QA_BOT", BOT_USERNAME) == "who met whom"


def test_callback_data_fits_64_bytes_and_round_trips(harness: Harness) -> None:
    engine = harness.engine
    for fact in engine.kb.facts:
        data = callback_data(fact)
        assert len(data.encode()) <= 64
        assert fact_for_callback(engine, data) == fact
    long_fact = dataclasses.replace(engine.kb.facts[0], id="x" * 64)
    long_data = callback_data(long_fact)
    assert long_data.startswith("fact#") and len(long_data.encode()) <= 64


def test_button_label_is_truncated_to_64_characters(harness: Harness) -> None:
    # A fact with no written label falls back to its first phrasing, cut to fit.
    fact = dataclasses.replace(
        harness.engine.kb.facts[0], questions=("word " * 30,), written_labels={}
    )
    assert len(button_label(fact)) == 64 and button_label(fact).endswith("…")


def test_file_url_follows_the_base_url() -> None:
    assert file_url_for("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url_for("https://api.example/bot{token}") == "https://api.example/file/bot{token}"


# ------------------------------------------------------------------------------------------
# Start-up checks and the auto-reload task


async def test_auto_reload_watcher_starts_in_post_init_and_stops_in_post_shutdown(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, auto_reload=True)
    async with open_harness(settings) as h:
        await post_init(h.app)
        state = h.app.bot_data.state
        task = state.watcher
        assert task is not None and not task.done()
        await post_shutdown(h.app)
        assert state.watcher is None and task.done()


def test_run_without_token_fails_with_one_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert run(settings) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TELEGRAM_BOT_TOKEN is not set" in err


def test_auto_reload_without_watchfiles_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, auto_reload=True)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    real_find_spec = importlib.util.find_spec

    def no_watchfiles(name: str, *args: Any) -> Any:
        return None if name == "watchfiles" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", no_watchfiles)
    assert run(settings) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "watchfiles" in err and TOKEN not in err


async def test_inline_queries_are_never_logged_as_unanswered(
    harness: Harness, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    await harness.send(inline_update(NEAR_MISS))
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("bot.telegram.")]
    assert len(lines) == 1 and lines[0].startswith("INLINE chat=inline user=2002 via=inline")
    assert settings.unanswered_file is not None and not settings.unanswered_file.exists()


@pytest.mark.parametrize("question", [CLEAR_QUESTION, NEAR_MISS])
async def test_the_client_language_is_the_hint_for_the_reply(
    harness: Harness, question: str
) -> None:
    data = text_update(question)
    data["message"]["from"] = person(USER, language_code="tr")
    reply = reply_to(harness.engine, question, "tr")
    calls = await harness.send(data)
    assert calls == [
        expected_message(USER, render_html(reply), reply.suggestions, language=reply.language)
    ]
    start = text_update("/start")
    start["message"]["from"] = person(USER, language_code="ru-RU")
    card = start_card(harness.engine, "ru")
    assert card.language == "ru"
    assert await harness.send(start) == [
        expected_message(USER, card_html(card), card.suggestions, language="ru")
    ]


# ------------------------------------------------------------------------------------------
# Conversations


def _sent_text(calls: list[tuple[str, dict[str, Any]]]) -> str:
    return "\n".join(str(p["text"]) for m, p in calls if m == "sendMessage")


async def test_a_follow_up_in_a_private_chat_uses_the_previous_question(harness: Harness) -> None:
    stressed = harness.engine.kb.fact("yanik_children")
    assert stressed is not None
    await harness.ask("Who is Derya Yanik?")
    follow_up = _sent_text(await harness.ask("what did she stress?"))
    assert html.escape(stressed.answer, quote=False) in follow_up


async def test_in_a_group_each_member_has_their_own_conversation(harness: Harness) -> None:
    stressed = harness.engine.kb.fact("yanik_children")
    assert stressed is not None
    answer = html.escape(stressed.answer, quote=False)
    mention = f"@{BOT_USERNAME}"
    await harness.ask(f"{mention} Who is Derya Yanik?", chat_id=GROUP, from_id=USER)
    other = _sent_text(
        await harness.ask(f"{mention} what did she stress?", chat_id=GROUP, from_id=OTHER)
    )
    assert answer not in other  # OTHER never asked about her
    own = _sent_text(
        await harness.ask(f"{mention} what did she stress?", chat_id=GROUP, from_id=USER)
    )
    assert answer in own


async def test_a_button_answers_in_the_conversations_language(harness: Harness) -> None:
    """A Russian question's buttons answer in Russian, whatever the client's language."""
    calls = await harness.ask(
        "Кто выиграл чемпионат мира?", **{"from": person(USER, language_code="en")}
    )
    (markup,) = [p["reply_markup"] for m, p in calls if m == "sendMessage"]
    data = markup["inline_keyboard"][0][0]["callback_data"]
    fact = harness.engine.kb.fact(data.removeprefix("fact:"))
    assert fact is not None and "ru" in fact.answers
    tap = {"chat_instance": "c", "data": data, "message": bot_message(USER)}
    reply = await harness.send(
        update("callback_query", id="t", **tap, **{"from": person(USER, language_code="en")})
    )
    assert html.escape(fact.answers["ru"], quote=False) in _sent_text(reply)


async def test_replies_are_html_by_the_applications_defaults(harness: Harness) -> None:
    assert harness.app.bot.defaults is not None
    assert harness.app.bot.defaults.parse_mode == ParseMode.HTML
    calls = await harness.ask("Who met whom?")
    stored = harness.state.delivery.outbox._db.execute("SELECT params FROM replies").fetchall()
    assert stored and all("parse_mode" not in json.loads(p) for (p,) in stored)  # not stored...
    assert calls[0][1]["parse_mode"] == ParseMode.HTML  # ...yet sent as HTML


def test_the_engine_s_message_limit_is_telegram_s() -> None:
    """The engine may not import telegram (``ask`` starts without it), so its one copy of
    the limit is held to the library's here."""
    from telegram.constants import MessageLimit

    from bot.budget import TELEGRAM_MAX_CHARS

    assert MessageLimit.MAX_TEXT_LENGTH == TELEGRAM_MAX_CHARS


def test_every_fact_id_the_loader_allows_is_a_valid_inline_result_id() -> None:
    """Inline results use the fact id as their id, unhashed: the loader's limit must fit."""
    from telegram.constants import InlineQueryResultLimit

    from bot.knowledge_checks import FACT_ID

    longest = "a" * InlineQueryResultLimit.MAX_ID_LENGTH
    assert FACT_ID.match(longest)
    assert not FACT_ID.match(longest + "a")
