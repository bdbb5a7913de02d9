"""The fake Bot API used by the end-to-end tests behaves like Telegram where it matters."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fakes.bot_api import FakeBotApi, Fault

TOKEN = "123456789:AAE-test-SECRET-token"


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN) as fake:
        yield fake


def call(api: FakeBotApi, method: str, token: str = TOKEN, **params: Any) -> httpx.Response:
    return httpx.post(f"{api.base_url}{token}/{method}", json=params, timeout=10)


def test_get_me_and_wrong_token(api: FakeBotApi) -> None:
    assert call(api, "getMe").json()["result"]["is_bot"] is True
    wrong = call(api, "getMe", token="1:wrong")
    assert wrong.status_code == 401 and wrong.json()["ok"] is False


def test_long_poll_returns_when_an_update_arrives_and_offset_confirms(api: FakeBotApi) -> None:
    threading.Timer(0.3, lambda: api.push_message("hi", user_id=5)).start()
    started = time.monotonic()
    updates = call(api, "getUpdates", timeout=5).json()["result"]
    assert 0.2 < time.monotonic() - started < 4
    assert [u["message"]["text"] for u in updates] == ["hi"]
    again = call(api, "getUpdates", timeout=0).json()["result"]
    assert [u["update_id"] for u in again] == [updates[0]["update_id"]]  # not confirmed yet
    confirmed = call(api, "getUpdates", offset=updates[0]["update_id"] + 1, timeout=0)
    assert confirmed.json()["result"] == [] and api.pending_updates() == 0


def test_send_message_is_recorded_and_awaitable(api: FakeBotApi) -> None:
    mark = api.mark()
    sent = call(api, "sendMessage", chat_id=7, text="hello").json()["result"]
    assert sent["from"]["is_bot"] and isinstance(sent["date"], int)
    assert api.wait_replies(7, since=mark, timeout=1)[0]["text"] == "hello"


def test_faults_apply_to_the_next_calls_only(api: FakeBotApi) -> None:
    api.inject(Fault("status", method="sendMessage", status=502))
    api.inject(Fault("retry_after", method="getMe", seconds=3))
    assert call(api, "sendMessage", chat_id=1, text="x").status_code == 502
    assert call(api, "sendMessage", chat_id=1, text="x").status_code == 200
    limited = call(api, "getMe")
    assert limited.status_code == 429 and limited.json()["parameters"]["retry_after"] == 3
    api.inject(Fault("malformed"))
    assert call(api, "getMe").text.startswith('{"ok": true, "result": ')
    api.inject(Fault("delay", seconds=0.3))
    started = time.monotonic()
    assert call(api, "getMe").status_code == 200 and time.monotonic() - started >= 0.3
    api.inject(Fault("drop", times=2))
    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            call(api, "getMe")
    assert call(api, "getMe").status_code == 200
