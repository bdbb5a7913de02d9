"""End to end: the real ``python -m bot run`` process against a fake Bot API on 127.0.0.1.

One bot process serves the module (starting Python and loading the knowledge base costs a
second or two); the tests run in file order and the last one stops it with SIGTERM. The
knowledge files are temporary copies, never ``knowledge/facts.yaml`` itself.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes import bot_process
from fakes.bot_api import FakeBotApi, Fault
from fakes.bot_process import BotProcess, clean_env, free_port, run_bot
from fakes.recording_request import BOT_ID, BOT_USERNAME

from bot import texts

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAE-test-SECRET-token"
ADMIN = 1001
USER = 2002
GROUP = -1001234567890
START_TIMEOUT = 20.0
REPLY_TIMEOUT = 10.0

CLEAR_QUESTION = "Who met whom?"
NEAR_MISS = "What was the trade turnover between Azerbaijan and Russia?"
ADDED_QUESTION = "What does the zebra committee recommend?"
ADDED_FACT: dict[str, Any] = {
    "id": "e2e_added_fact",
    "questions": [ADDED_QUESTION],
    "answer": "The zebra committee is a fact added by the end-to-end test.",
    "quote": "Azerbaijan and Turkiye have discussed the cooperation between the two countries",
}


@dataclass
class RunningBot:
    api: FakeBotApi
    process: BotProcess
    facts: Path


def bot_env(api: FakeBotApi | None, **extra: str) -> dict[str, str]:
    base_url = {} if api is None else {"TELEGRAM_BASE_URL": api.base_url}
    return clean_env({"PYTHONUNBUFFERED": "1", "BOT_ADMINS": str(ADMIN), **base_url, **extra})


def write_config(folder: Path, **telegram: Any) -> tuple[Path, Path]:
    """A config using temporary copies of the knowledge files; returns (config, facts)."""
    return bot_process.write_config(folder, 1000, folder / "unanswered.jsonl", **telegram)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    folder = tmp_path_factory.mktemp("e2e")
    config, facts = write_config(folder)
    with FakeBotApi(TOKEN) as api:
        env = bot_env(api, BOT_LOG_LEVEL="DEBUG", TELEGRAM_BOT_TOKEN=TOKEN)
        process = BotProcess(api, config, folder / "stderr.log", env)
        process.wait_polling(timeout=START_TIMEOUT)
        yield RunningBot(api, process, facts)
        process.kill()


def ask(bot: RunningBot, text: str, **kwargs: Any) -> dict[str, Any]:
    mark = bot.api.mark()
    chat_id = kwargs.get("chat_id", kwargs.get("user_id", USER))
    bot.api.push_message(text, **{"user_id": USER, **kwargs})
    return bot.api.wait_replies(chat_id, since=mark, timeout=REPLY_TIMEOUT)[0]


def test_startup_publishes_command_menus(bot: RunningBot) -> None:
    """In the background: everyone's and the admin's, each in every language."""
    bot.api.wait_for(lambda calls: sum(c.method == "setMyCommands" for c in calls) >= 8)
    menus = {
        (c.params["scope"]["type"], c.params.get("language_code"))
        for c in bot.api.calls_of("setMyCommands")
    }
    languages = (None, "tr", "az", "ru")
    assert menus == {(scope, lang) for scope in ("default", "chat") for lang in languages}
    polls = bot.api.calls_of("getUpdates")
    assert polls and sorted(polls[0].params["allowed_updates"]) == sorted(
        ["message", "channel_post", "callback_query", "inline_query"]
    )


def test_question_is_answered_with_its_quote(bot: RunningBot) -> None:
    reply = ask(bot, CLEAR_QUESTION)
    assert reply["parse_mode"] == "HTML"
    assert "<blockquote>" in reply["text"] and "</blockquote>" in reply["text"]
    assert "<i>Source: " in reply["text"]
    assert "reply_markup" not in reply


def test_near_miss_says_the_article_does_not_say_with_buttons(bot: RunningBot) -> None:
    reply = ask(bot, NEAR_MISS)
    assert "doesn't say" in reply["text"]
    rows = reply["reply_markup"]["inline_keyboard"]
    assert rows and all(len(row) == 1 for row in rows)
    assert all(row[0]["callback_data"].startswith("fact:") for row in rows)


def test_tapping_a_suggestion_sends_the_fact(bot: RunningBot) -> None:
    reply = ask(bot, NEAR_MISS)
    data = reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    mark = bot.api.mark()
    shown = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": USER, "type": "private", "first_name": "Tester"},
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot", "username": BOT_USERNAME},
        "text": reply["text"],
    }
    bot.api.push_update(
        "callback_query",
        {
            "id": "cb-1",
            "from": {"id": USER, "is_bot": False, "first_name": "Tester"},
            "chat_instance": "ci",
            "data": data,
            "message": shown,
        },
    )
    answer = bot.api.wait_replies(USER, since=mark)[0]
    assert "<blockquote>" in answer["text"]
    assert bot.api.calls_of("answerCallbackQuery", since=mark)[0].params == {
        "callback_query_id": "cb-1"
    }


def test_group_message_is_ignored_unless_the_bot_is_mentioned(bot: RunningBot) -> None:
    mark = bot.api.mark()
    bot.api.push_message(CLEAR_QUESTION, user_id=USER, chat_id=GROUP)
    reply = ask(bot, f"@{BOT_USERNAME} {CLEAR_QUESTION}", chat_id=GROUP)
    assert "<blockquote>" in reply["text"]
    # the unaddressed message came first and got nothing: only the mention was answered
    assert len(bot.api.replies(GROUP, since=mark)) == 1


def test_non_admin_reload_is_refused(bot: RunningBot) -> None:
    assert ask(bot, "/reload")["text"] == texts.ENGLISH.not_admin


def test_admin_reload_serves_the_added_fact(bot: RunningBot) -> None:
    data = yaml.safe_load(bot.facts.read_text(encoding="utf-8"))
    data["facts"].append(dict(ADDED_FACT))
    bot.facts.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    summary = ask(bot, "/reload", user_id=ADMIN)["text"]
    assert "Added: e2e_added_fact" in summary
    assert ask(bot, ADDED_QUESTION)["text"].startswith(ADDED_FACT["answer"])


def test_admin_reload_of_a_broken_file_keeps_the_old_answers(bot: RunningBot) -> None:
    bot.facts.write_text("facts: [this is: not valid\n", encoding="utf-8")
    summary = ask(bot, "/reload", user_id=ADMIN)["text"]
    assert summary.startswith("Reload refused")
    assert "Still serving the previous version" in summary
    assert ask(bot, ADDED_QUESTION)["text"].startswith(ADDED_FACT["answer"])
    assert "<blockquote>" in ask(bot, CLEAR_QUESTION)["text"]


def test_sigterm_exits_cleanly_and_the_token_was_never_logged(bot: RunningBot) -> None:
    code, seconds = bot.process.terminate(timeout=5)
    assert seconds < 5
    assert code == 0
    log = bot.process.stderr()
    assert " DEBUG " in log and " INFO " in log  # every level was on
    assert "UNANSWERED chat=private" in log
    for secret in (TOKEN, TOKEN.split(":", 1)[1], TOKEN.replace(":", "%3A")):
        assert secret not in log
    assert "Traceback" not in log


def run_once(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    config, _ = write_config(tmp_path)
    return run_bot("run", "--config", str(config), env=env, timeout=30)


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_missing_token_is_one_line_and_a_failure(tmp_path: Path) -> None:
    result = run_once(tmp_path, bot_env(None, BOT_LOG_LEVEL="DEBUG"))
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0]


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_rejected_token_is_one_line_and_a_failure(tmp_path: Path) -> None:
    wrong = "987654321:AAE-wrong-SECRET-token"
    with FakeBotApi(TOKEN) as api:
        result = run_once(tmp_path, bot_env(api, TELEGRAM_BOT_TOKEN=wrong))
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "rejected" in lines[0] and "wrong-SECRET" not in lines[0]


@pytest.mark.slow  # seconds of real work; the fast loop skips it
@pytest.mark.parametrize("status", [400, 403])
def test_get_me_refused_is_one_line_and_a_failure(tmp_path: Path, status: int) -> None:
    with FakeBotApi(TOKEN) as api:
        api.inject(Fault("status", method="getMe", status=status, times=100))
        result = run_once(tmp_path, bot_env(api, TELEGRAM_BOT_TOKEN=TOKEN))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "Telegram refused getMe" in lines[0], lines[0]


def post_update(port: int, secret: str, update: dict[str, Any]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/telegram",
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_webhook_mode_checks_the_secret_and_answers(tmp_path: Path) -> None:
    secret = "s3cret-webhook-token"
    port = free_port()
    webhook = {
        "url": "https://bot.example.invalid/telegram",
        "listen": "127.0.0.1",
        "port": port,
        "path": "telegram",
        "secret_token": secret,
    }
    config, _ = write_config(tmp_path, mode="webhook", webhook=webhook)
    with FakeBotApi(TOKEN) as api:
        env = bot_env(api, BOT_LOG_LEVEL="DEBUG", TELEGRAM_BOT_TOKEN=TOKEN)
        process = BotProcess(api, config, tmp_path / "stderr.log", env)
        try:
            hook = api.wait_for_call("setWebhook", timeout=START_TIMEOUT).params
            assert hook["url"] == "https://bot.example.invalid/telegram"
            assert hook["secret_token"] == secret
            message = {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": USER, "type": "private", "first_name": "Tester"},
                "from": {"id": USER, "is_bot": False, "first_name": "Tester"},
                "text": CLEAR_QUESTION,
            }
            deadline = time.monotonic() + START_TIMEOUT
            mark = api.mark()
            while True:  # setWebhook comes just before the server listens
                try:
                    status = post_update(port, "wrong-secret", {"update_id": 1, "message": message})
                    break
                except (ConnectionError, urllib.error.URLError):
                    assert time.monotonic() < deadline, "the webhook server never listened"
                    time.sleep(0.1)
            assert status == 403
            assert post_update(port, secret, {"update_id": 2, "message": message}) == 200
            replies = api.wait_replies(USER, since=mark)
            assert len(replies) == 1 and "<blockquote>" in replies[0]["text"]
            assert process.terminate(timeout=5)[0] == 0
        finally:
            process.kill()
    log = process.stderr()
    assert TOKEN not in log and secret not in log
    # PTB logs the refused request's traceback at DEBUG only; nothing went wrong above that
    assert " ERROR " not in log and " WARNING " not in log


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_unreachable_api_is_one_line_and_a_failure(tmp_path: Path) -> None:
    env = bot_env(None, TELEGRAM_BOT_TOKEN=TOKEN)
    env["TELEGRAM_BASE_URL"] = f"http://127.0.0.1:{free_port()}/bot"  # nothing listens there
    result = run_once(tmp_path, env)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach the Telegram Bot API" in lines[0] and "SECRET" not in lines[0]
