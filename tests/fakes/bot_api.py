"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests of the real bot process.

Start it, point the bot at :attr:`FakeBotApi.base_url` (``TELEGRAM_BASE_URL``), then drive it
from the test: :meth:`push_message` queues an update that the bot receives through
``getUpdates`` (a real long poll with ``timeout`` and ``offset``), and :meth:`wait_replies`
waits for what the bot sent to a chat. Every call is recorded in :attr:`calls`.

Implemented methods: getMe, getUpdates, sendMessage, answerCallbackQuery, answerInlineQuery,
setMyCommands, getMyCommands, deleteWebhook, close, logOut; any other method answers
``true``. A request with another token gets 401 Unauthorized, as Telegram would.

Fault injection: :meth:`inject` queues a :class:`Fault` (delay, HTTP 5xx, 429 with
``retry_after``, dropped connection, malformed JSON) for the next N calls of a method (or of
any method). Faults are applied in :meth:`_Handler._serve`. What the server has carried out
follows from the fault, as with Telegram: after a ``delay`` the method runs (even if the
client gave up waiting); ``malformed`` is a 200 whose body got cut, so the method ran; on
5xx, 429 and a dropped connection (closed before any response) it did not run.
:meth:`delivered` lists the messages sendMessage really sent -- what users saw.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl

from fakes.recording_request import BOT_USER

FaultKind = Literal["delay", "status", "retry_after", "drop", "malformed"]
MAX_LONG_POLL = 30.0
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "commands",
        "scope",
        "results",
        "allowed_updates",
        "entities",
        "link_preview_options",
        "button",
    }
)
INT_FIELDS = frozenset({"chat_id", "offset", "limit", "timeout", "message_id", "cache_time"})


@dataclass
class Fault:
    """One injected failure: what happens to the next ``times`` matching calls."""

    kind: FaultKind
    method: str | None = None
    """Only calls of this method (None: any method)."""
    times: int = 1
    seconds: float = 0.0
    """``delay``: how long to wait before answering; ``retry_after``: the value sent."""
    status: int = 502
    """``status``: the HTTP status to answer with."""
    chat_id: int | None = None
    """Only calls for this chat (None: any); the bot sends to many chats at once."""


@dataclass(frozen=True)
class Call:
    """One request the bot made."""

    seq: int
    method: str
    params: dict[str, Any]
    at: float
    fault: FaultKind | None = None
    """The fault injected into this call, if any."""


class FakeBotApi:
    """A thread-served fake of the Bot API for one bot token."""

    def __init__(self, token: str, bot_user: dict[str, Any] | None = None) -> None:
        self.token = token
        self.bot_user = dict(bot_user or BOT_USER)
        self.calls: list[Call] = []
        self.sent: list[dict[str, Any]] = []
        """Every message sendMessage carried out (its params), in order."""
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self._updates: list[dict[str, Any]] = []
        self._chats: dict[int, dict[str, Any]] = {}
        self._faults: list[Fault] = []
        self._cond = threading.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._seq = itertools.count(1)
        self._closed = False
        self._wakeups = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeBotApi:
        """Listen on a free port of 127.0.0.1 in a background thread."""
        api = self

        class Handler(_Handler):
            fake = api

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake every long poll and stop serving."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The value for ``TELEGRAM_BASE_URL``."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- test side: pushing updates ------------------------------------------------------------

    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update of ``kind`` (message, callback_query...); returns it with its id."""
        with self._cond:
            update = {"update_id": next(self._update_ids), kind: payload}
            chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
            if chat:
                self._chats[int(chat["id"])] = chat
            self._updates.append(update)
            self._cond.notify_all()
            return update

    def push_message(
        self,
        text: str | None,
        *,
        user_id: int,
        chat_id: int | None = None,
        chat_type: str | None = None,
        reply_to: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a new message from ``user_id`` (in their private chat unless ``chat_id``)."""
        chat_id = user_id if chat_id is None else chat_id
        kind = chat_type or ("private" if chat_id > 0 else "supergroup")
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        chat.update({"first_name": "Tester"} if kind == "private" else {"title": "Test group"})
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"},
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(extra)
        self.push_update("message", message)
        return message

    # -- test side: observing the bot -----------------------------------------------------------

    def mark(self) -> int:
        """The sequence number of the last call so far; pass it as ``since``."""
        with self._cond:
            return self.calls[-1].seq if self.calls else 0

    def calls_of(self, method: str, since: int = 0) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and c.seq > since]

    def wait_for(
        self, predicate: Callable[[list[Call]], bool], timeout: float = 10.0
    ) -> list[Call]:
        """Wait until ``predicate(calls)`` is true; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.calls):
                left = deadline - time.monotonic()
                if left <= 0:
                    methods = [c.method for c in self.calls[-20:]]
                    raise AssertionError(f"timed out after {timeout}s; last calls: {methods}")
                self._cond.wait(left)
            return list(self.calls)

    def wait_for_call(self, method: str, since: int = 0, timeout: float = 10.0) -> Call:
        """The first call of ``method`` after ``since``, waiting for it if needed."""
        self.wait_for(
            lambda calls: any(c.method == method and c.seq > since for c in calls), timeout
        )
        return self.calls_of(method, since)[0]

    def replies(self, chat_id: int, since: int = 0) -> list[dict[str, Any]]:
        """The sendMessage params sent to ``chat_id`` after ``since``."""
        return [
            c.params for c in self.calls_of("sendMessage", since) if c.params["chat_id"] == chat_id
        ]

    def wait_replies(
        self, chat_id: int, since: int, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait for ``count`` messages to ``chat_id`` sent after ``since``; returns them all."""

        def enough(calls: list[Call]) -> bool:
            return len(self.replies(chat_id, since)) >= count

        self.wait_for(enough, timeout)
        return self.replies(chat_id, since)

    def delivered(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The messages sendMessage really sent (to ``chat_id``), faults taken into account."""
        with self._cond:
            return [p for p in self.sent if chat_id is None or p["chat_id"] == chat_id]

    def faults_left(self) -> int:
        """How many injected fault applications have not happened yet."""
        with self._cond:
            return sum(f.times for f in self._faults)

    def assert_no_reply(self, chat_id: int, since: int, wait: float = 1.0) -> None:
        """Give the bot ``wait`` seconds, then check it sent nothing to ``chat_id``."""
        time.sleep(wait)
        sent = self.replies(chat_id, since)
        assert not sent, f"unexpected replies to {chat_id}: {sent}"

    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot (through a later offset)."""
        with self._cond:
            return len(self._updates)

    # -- fault injection -----------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Apply ``fault`` to the next ``fault.times`` calls (of ``fault.method``)."""
        with self._cond:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        """Forget the faults not applied yet: the API has recovered."""
        with self._cond:
            self._faults.clear()

    def end_long_polls(self) -> None:
        """Make the getUpdates calls waiting now return at once (with what is queued)."""
        with self._cond:
            self._wakeups += 1
            self._cond.notify_all()

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                    continue
                if fault.method in (None, method) and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- the Bot API -----------------------------------------------------------------------------

    def _record(self, method: str, params: dict[str, Any], fault: Fault | None = None) -> None:
        with self._cond:
            kind = fault.kind if fault is not None else None
            self.calls.append(Call(next(self._seq), method, params, time.monotonic(), kind))
            self._cond.notify_all()

    def _chat(self, chat_id: int) -> dict[str, Any]:
        known = self._chats.get(chat_id)
        if known is not None:
            return known
        kind = "private" if chat_id > 0 else "supergroup"
        return (
            {"id": chat_id, "type": kind, "title": "Chat"}
            if chat_id < 0
            else {
                "id": chat_id,
                "type": kind,
                "first_name": "Tester",
            }
        )

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), MAX_LONG_POLL)
        deadline = time.monotonic() + timeout
        with self._cond:
            if offset:
                # Telegram forgets every update below the offset: they are confirmed.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            wakeups = self._wakeups
            while not self._updates and not self._closed and wakeups == self._wakeups:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self._updates[:limit])

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        with self._cond:
            self.sent.append(params)
            self._cond.notify_all()
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),  # seconds, like Telegram
            "chat": self._chat(chat_id),
            "from": self.bot_user,
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    def handle(self, method: str, params: dict[str, Any]) -> Any:
        """The ``result`` of one Bot API call (raising nothing: errors are faults)."""
        if method == "getMe":
            return self.bot_user
        if method == "getUpdates":
            return self._get_updates(params)
        if method == "sendMessage":
            return self._send_message(params)
        if method == "setMyCommands":
            scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
            with self._cond:
                self.commands[scope] = list(params.get("commands") or [])
            return True
        if method == "getMyCommands":
            scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
            with self._cond:
                return self.commands.get(scope, [])
        return True  # answerCallbackQuery, answerInlineQuery, deleteWebhook, close, logOut...


def _decode_params(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        data = json.loads(body)
        return dict(data) if isinstance(data, dict) else {}
    if content_type.startswith("multipart/form-data"):
        return {}  # uploads are not supported by this fake
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
        if key in JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in INT_FIELDS and value.lstrip("-").isdigit():
            params[key] = int(value)
        elif value in ("true", "false"):
            params[key] = value == "true"
        else:
            params[key] = value
    return params


class _Handler(BaseHTTPRequestHandler):
    fake: FakeBotApi
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK hold every response back about 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output quiet

    def do_GET(self) -> None:
        self._serve_quietly()

    def do_POST(self) -> None:
        self._serve_quietly()

    def _serve_quietly(self) -> None:
        try:
            self._serve()
        except (BrokenPipeError, ConnectionResetError):
            # The bot gave up on the request (a long poll cancelled at shutdown): nothing to do.
            self.close_connection = True

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, description: str, **parameters: Any) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self._reply(status, json.dumps(body).encode())

    def _serve(self) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            self._error(404, "Not Found")
            return
        token, method = parts[0][3:], parts[1]
        if token != fake.token:
            self._error(401, "Unauthorized")
            return
        params = _decode_params(self.headers.get("Content-Type") or "", body)
        fault = fake._take_fault(method, params)
        fake._record(method, params, fault)
        if fault is not None:
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "status":
                self._error(fault.status, "Internal Server Error")
                return
            elif fault.kind == "retry_after":
                retry = max(1, round(fault.seconds))
                self._error(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
                return
            elif fault.kind == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            elif fault.kind == "malformed":
                fake.handle(method, params)  # a 200: the work was done, the body got cut
                self._reply(200, b'{"ok": true, "result": ')
                return
        result = fake.handle(method, params)
        self._reply(200, json.dumps({"ok": True, "result": result}).encode())
