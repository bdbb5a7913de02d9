"""A ``telegram.request.BaseRequest`` that never touches the network and records every call.

Give it to ``ApplicationBuilder().request(...)`` (and ``.get_updates_request(...)``): each Bot
API call is recorded as ``(method, params)`` and answered with canned JSON, so handler tests
can assert the exact payloads the bot would have sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 123456789
BOT_USERNAME = "article_qa_bot"
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Article QA",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,
}

Call = tuple[str, dict[str, Any]]
ErrorRule = Callable[[str, dict[str, Any]], tuple[int, str] | None]
"""Given (method, params), an (HTTP status, description) to fail the call with, or None."""


def chat_for(chat_id: int) -> dict[str, Any]:
    """A plausible Chat object for an id (negative: a supergroup, positive: a private chat)."""
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Test group"}
    return {"id": chat_id, "type": "private", "first_name": "Tester"}


class RecordingRequest(BaseRequest):
    """Records (method, params) and returns canned results; ``errors`` can fail chosen calls."""

    def __init__(self, bot_user: dict[str, Any] | None = None) -> None:
        self.bot_user = dict(bot_user or BOT_USER)
        self.calls: list[Call] = []
        self.error_rules: list[ErrorRule] = []
        self._next_message_id = 10_000

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    # -- test-side helpers -----------------------------------------------------------------

    def sent(self, method: str | None = None) -> list[dict[str, Any]]:
        """The params of every recorded call (of ``method``), in order."""
        return [params for name, params in self.calls if method is None or name == method]

    def replies(self) -> list[dict[str, Any]]:
        """Everything the bot said or answered, leaving out getMe/setMyCommands/getUpdates."""
        quiet = {"getMe", "setMyCommands", "getUpdates", "deleteWebhook", "close", "logOut"}
        return [{"method": name, **params} for name, params in self.calls if name not in quiet]

    def clear(self) -> None:
        """Forget the calls recorded so far."""
        self.calls.clear()

    # -- BaseRequest -------------------------------------------------------------------------

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        self.calls.append((endpoint, params))
        for rule in self.error_rules:
            failure = rule(endpoint, params)
            if failure is not None:
                status, description = failure
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": status,
                    "description": description,
                }
                if status == 429:  # "...: retry after N", as Telegram says it
                    body["parameters"] = {"retry_after": int(description.rsplit(" ", 1)[-1])}
                return status, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": self._result(endpoint, params)}).encode()

    def _result(self, endpoint: str, params: dict[str, Any]) -> Any:
        if endpoint == "getMe":
            return self.bot_user
        if endpoint in ("sendMessage", "editMessageText"):
            self._next_message_id += 1
            message: dict[str, Any] = {
                "message_id": self._next_message_id,
                "date": int(time.time()),  # seconds, as Telegram sends it
                "chat": chat_for(int(params["chat_id"])),
                "from": self.bot_user,
                "text": params.get("text", ""),
            }
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            return message
        if endpoint == "getUpdates":
            return []
        if endpoint == "getMyCommands":
            return []
        return True  # answerCallbackQuery, answerInlineQuery, setMyCommands, deleteWebhook...
