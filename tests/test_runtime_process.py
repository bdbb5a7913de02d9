"""The runtime's guarantees on the real ``python -m bot run`` process and the fake Bot API:
start-up without waiting for the command menus, malformed updates skipped, the webhook's
refusals before reading a body, and the outbox across stops and restarts (nothing lost,
nothing repeated unless a send was cut off mid-request, which is logged).
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.bot_api import FakeBotApi, Fault
from fakes.bot_process import ROOT, BotProcess, bot_env, free_port, run_bot, write_config

# Every test here runs a real bot process for seconds: the fast loop skips them.
pytestmark = pytest.mark.slow

TOKEN = "123456789:AAE-test-SECRET-token"
SECRET = "s3cret-token_for-tests"
QUESTION = "Who met whom?"


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN) as fake:
        yield fake


def start(api: FakeBotApi, folder: Path, name: str = "bot", **telegram: Any) -> BotProcess:
    config, _ = write_config(folder, **telegram)
    return BotProcess(api, config, folder / f"{name}.log", bot_env(api, TOKEN, BOT_ADMINS="1001"))


def texts_to(api: FakeBotApi, chat_id: int) -> list[str]:
    return [p["text"] for p in api.delivered(chat_id)]


def test_first_answer_within_2_s_even_when_set_my_commands_fails(
    api: FakeBotApi, tmp_path: Path
) -> None:
    api.inject(Fault("status", "setMyCommands", status=502, times=100_000))
    api.push_message(QUESTION, user_id=2002)  # waiting before the bot even starts
    launched = time.monotonic()
    bot = start(api, tmp_path)
    try:
        api.wait_for(lambda _: bool(api.delivered(2002)), timeout=20)
        elapsed = time.monotonic() - launched
        assert elapsed < 2.0, f"first answer {elapsed:.2f} s after launch:\n{bot.stderr()}"
        assert api.calls_of("setMyCommands")  # tried (and failing) in the background
    finally:
        bot.terminate()
    assert "could not set the command menu" in bot.stderr()


def test_a_malformed_update_is_skipped_and_polling_goes_on(api: FakeBotApi, tmp_path: Path) -> None:
    bot = start(api, tmp_path)
    try:
        bot.wait_polling()
        broken = api.push_update("message", {"message_id": 1, "text": "no chat, no date"})
        api.push_message(QUESTION, user_id=2002)
        api.wait_for(lambda _: bool(api.delivered(2002)), timeout=15)
        api.wait_for(lambda _: api.pending_updates() == 0, timeout=15)  # offset moved past
    finally:
        bot.terminate()
    assert f"malformed update {broken['update_id']} skipped" in bot.stderr()


def test_a_group_flooding_the_bot_does_not_hold_up_a_private_question(
    api: FakeBotApi, tmp_path: Path
) -> None:
    """25 mentions and 45 /reload attempts by a non-admin in one group, then a private
    question: answered at once, while the group gets 20 replies a minute and one note."""
    bot = start(api, tmp_path)
    group = -100_777
    try:
        bot.wait_polling()
        for n in range(25):
            api.push_message(f"@article_qa_bot {QUESTION}", user_id=3000 + n, chat_id=group)
        for _ in range(45):
            api.push_message("/reload", user_id=3999, chat_id=group)
        api.wait_for(lambda _: len(api.delivered(group)) >= 5, timeout=15)  # under way
        asked = time.monotonic()
        api.push_message(QUESTION, user_id=2002)
        api.wait_for(lambda _: bool(api.delivered(2002)), timeout=15)
        waited = time.monotonic() - asked
        # Telegram's 20 a minute, then the note: the limiter lets it out a few seconds later
        api.wait_for(lambda _: len(api.delivered(group)) >= 21, timeout=15)
        time.sleep(0.5)
    finally:
        bot.terminate()
    assert waited < 1.0, waited
    assert len(api.delivered(group)) == 21
    assert api.delivered(group)[-1]["text"].startswith("You are sending")


# --- the webhook -------------------------------------------------------------------------------


def start_webhook(api: FakeBotApi, folder: Path, port: int, name: str = "bot") -> BotProcess:
    bot = start(
        api,
        folder,
        name,
        mode="webhook",
        webhook={
            "url": "https://bot.example.com/telegram",
            "listen": "127.0.0.1",
            "port": port,
            "path": "telegram",
            "secret_token": SECRET,
        },
    )
    api.wait_for(lambda calls: any(c.method == "setWebhook" for c in calls), timeout=20)
    return bot


def raw_request(port: int, head: str, body: bytes = b"") -> tuple[int, float]:
    """Send ``head`` (and ``body``) and read the status line; (status, seconds it took)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode() + body)
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1]), time.monotonic() - started


def post_update(port: int, update: dict[str, Any], secret: str = SECRET) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps(update).encode()
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
    connection.request("POST", "/telegram", body=body, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


def message_update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "T"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "T"},
            "text": text,
        },
    }


def test_webhook_refuses_big_bodies_and_wrong_secrets_before_reading(
    api: FakeBotApi, tmp_path: Path
) -> None:
    port = free_port()
    bot = start_webhook(api, tmp_path, port)
    try:
        # 90 MB announced, not a byte of it sent: the answer comes at once, unread.
        big = (
            "POST /telegram HTTP/1.1\r\nHost: x\r\nContent-Length: 90000000\r\n"
            f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n\r\n"
        )
        assert raw_request(port, big)[0] == 413
        wrong = "POST /telegram HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
        assert raw_request(port, wrong)[0] == 403
        bad_secret = wrong.replace("\r\n\r\n", "\r\nX-Telegram-Bot-Api-Secret-Token: no\r\n\r\n")
        assert raw_request(port, bad_secret)[0] == 403
        assert post_update(port, message_update(1, 2002, QUESTION)) == 200
        api.wait_for(lambda _: bool(api.delivered(2002)), timeout=10)
    finally:
        bot.terminate()


def test_webhook_sigterm_with_accepted_updates_loses_nothing(
    api: FakeBotApi, tmp_path: Path
) -> None:
    """30 updates accepted (200) while the Bot API takes 1 s per message, then SIGTERM: what
    was not sent is in the outbox, and the next start sends it -- each once, in order."""
    api.inject(Fault("delay", "sendMessage", seconds=1.0, times=10_000))
    port = free_port()
    bot = start_webhook(api, tmp_path, port)
    chats = (5001, 5002, 5003)
    sent: dict[int, list[str]] = {c: [] for c in chats}
    try:
        for n in range(30):
            chat = chats[n % 3]
            question = f"{QUESTION} ({n})"
            assert post_update(port, message_update(100 + n, chat, question)) == 200
            sent[chat].append(question)
        code, seconds = bot.terminate()
        assert code == 0 and seconds < 5, seconds
    finally:
        bot.kill()
    delivered_before = len(api.delivered())
    assert delivered_before < 30  # the slow API did not get them all out before the stop
    api.clear_faults()
    again = start(api, tmp_path, "restart")  # polling: the outbox does not care
    try:
        again.wait_polling()
        api.wait_for(lambda _: len(api.delivered()) >= 30, timeout=30)
        time.sleep(0.5)  # room for a duplicate to show up
    finally:
        again.terminate()
    assert len(api.delivered()) == 30  # none lost, none twice
    for chat in chats:
        answers = api.delivered(chat)
        assert len(answers) == 10
    assert "may get it twice" not in again.stderr()


# --- the outbox across stops -----------------------------------------------------------------


def test_replies_failing_for_long_are_delivered_after_a_restart(
    api: FakeBotApi, tmp_path: Path
) -> None:
    """5xx on every send of one chat (others unaffected), SIGTERM, restart: delivered once."""
    api.inject(Fault("status", "sendMessage", status=502, times=10_000, chat_id=6001))
    bot = start(api, tmp_path)
    try:
        bot.wait_polling()
        api.push_message(QUESTION, user_id=6001)
        api.wait_for(lambda _: len(api.calls_of("sendMessage")) >= 3, timeout=20)
        api.push_message(QUESTION, user_id=6002)  # another chat is not held up
        api.wait_for(lambda _: bool(api.delivered(6002)), timeout=5)
        assert bot.terminate()[0] == 0
    finally:
        bot.kill()
    assert not api.delivered(6001)
    api.clear_faults()
    again = start(api, tmp_path, "restart")
    try:
        api.wait_for(lambda _: bool(api.delivered(6001)), timeout=20)
        time.sleep(0.5)
    finally:
        again.terminate()
    assert len(api.delivered(6001)) == 1 and len(api.delivered(6002)) == 1
    assert "repl(ies) from an earlier run to send" in again.stderr()


def test_429s_and_5xx_in_a_row_are_retried_until_delivered(api: FakeBotApi, tmp_path: Path) -> None:
    for _ in range(4):
        api.inject(Fault("retry_after", "sendMessage", seconds=1, chat_id=6101))
    # Three in a row: the backoff doubles from 0.5 s, so five would cost 15 s of the suite.
    api.inject(Fault("status", "sendMessage", status=503, times=3, chat_id=6102))
    bot = start(api, tmp_path)
    try:
        bot.wait_polling()
        api.push_message(QUESTION, user_id=6101)
        api.push_message(QUESTION, user_id=6102)
        api.wait_for(lambda _: bool(api.delivered(6101) and api.delivered(6102)), timeout=40)
        time.sleep(0.5)
    finally:
        bot.terminate()
    assert len(api.delivered(6101)) == 1 and len(api.delivered(6102)) == 1


def test_a_send_cut_off_by_sigterm_is_resent_and_logged(api: FakeBotApi, tmp_path: Path) -> None:
    """Telegram delivers a send the bot gave up at SIGTERM (8 s): nothing can tell, so the
    restart sends it again -- and says so in the log."""
    api.inject(Fault("delay", "sendMessage", seconds=8.0, chat_id=6201))
    bot = start(api, tmp_path)
    try:
        bot.wait_polling()
        api.push_message(QUESTION, user_id=6201)
        api.wait_for(lambda _: bool(api.calls_of("sendMessage")), timeout=15)
        code, seconds = bot.terminate()
        assert code == 0 and seconds < 5
    finally:
        bot.kill()
    again = start(api, tmp_path, "restart")
    try:
        api.wait_for(lambda _: len(api.delivered(6201)) == 2, timeout=20)
    finally:
        again.terminate()
    assert "was being sent when the bot stopped" in again.stderr()
    assert "may get it twice" in again.stderr()


def test_the_outbox_file_is_beside_the_config(api: FakeBotApi, tmp_path: Path) -> None:
    bot = start(api, tmp_path)
    try:
        bot.wait_polling()
    finally:
        bot.terminate()
    assert (tmp_path / "outbox.sqlite3").is_file()  # telegram.outbox_path's default


def test_the_polling_bot_keeps_its_heartbeat_and_the_healthcheck_sees_it(
    api: FakeBotApi, tmp_path: Path
) -> None:
    bot = start(api, tmp_path)
    beat = tmp_path / "outbox.sqlite3.alive"
    check = [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), "--config"]
    try:
        bot.wait_polling()
        first = beat.stat().st_mtime
        polls = len(api.calls_of("getUpdates"))
        time.sleep(0.05)  # a later mtime, whatever the file system's clock granularity
        # The next poll without the 10 s long poll's wait: the fake ends the waiting one (as
        # Telegram may); until a poll is waiting, that is asked again.
        for _ in range(120):
            api.end_long_polls()
            if len(api.calls_of("getUpdates")) > polls:
                break
            time.sleep(0.25)
        api.wait_for(lambda calls: sum(c.method == "getUpdates" for c in calls) > polls, 30)
        assert beat.stat().st_mtime > first  # touched again at every poll
        args = [*check, str(tmp_path / "bot.yaml"), "--pid", str(bot.process.pid)]
        healthy = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert healthy.returncode == 0, healthy.stderr
    finally:
        bot.terminate()


def test_a_second_bot_on_the_same_outbox_is_refused_in_one_line(
    api: FakeBotApi, tmp_path: Path
) -> None:
    bot = start(api, tmp_path)
    try:
        bot.wait_polling()
        config = tmp_path / "bot.yaml"
        second = run_bot("run", "--config", str(config), env=bot_env(api, TOKEN), timeout=60)
    finally:
        bot.terminate()
    assert second.returncode == 1
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "another bot process (pid" in lines[0], second.stderr
    assert "outbox.sqlite3" in lines[0]
