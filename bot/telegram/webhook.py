"""The webhook server: a small HTTP/1.1 server on asyncio streams, in front of :class:`Delivery`.

Why not PTB's (tornado) webhook server: it answers 200 as soon as an update is queued, so a
stop loses what is queued, and it reads a request body before checking the secret. Here:

* the secret token header is checked, and ``Content-Length`` against :data:`MAX_BODY_BYTES`
  (1 MiB), **before** a byte of the body is read: a wrong secret is 403, a big body 413, and
  the connection is closed unread;
* the answer is 200 only once the update is handled and its replies are in the outbox
  (:meth:`Delivery.submit`); an update that cannot be read is logged and answered 200 (it
  would come again forever otherwise);
* once stopping, new requests get 503 (Telegram sends them again later); requests in hand
  are finished first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from typing import Any, Final

from telegram import Bot, Update

from bot.telegram.delivery import Delivery

logger = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 1 << 20
"""Telegram's updates are a few KiB; anything over 1 MiB is refused unread."""
MAX_HEADER_BYTES: Final = 16 * 1024
MAX_HEADERS: Final = 100
IDLE_SECONDS: Final = 75.0
"""A kept-alive connection with no new request for this long is closed."""
SECRET_HEADER: Final = "x-telegram-bot-api-secret-token"
_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class _Refused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class WebhookServer:
    """Serves ``POST /<path>`` with Telegram's updates; everything else is refused."""

    def __init__(
        self,
        delivery: Delivery,
        bot: Bot,
        *,
        path: str,
        secret_token: str,
        listen: str = "127.0.0.1",
        port: int = 8443,
    ) -> None:
        self.delivery = delivery
        self.bot = bot
        self.path = "/" + path.strip("/")
        self.secret = secret_token.encode()
        self.listen = listen
        self.port = port
        self.stopping = False
        self._server: asyncio.Server | None = None
        self._in_hand: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self.listen, self.port, limit=MAX_HEADER_BYTES
        )
        sockets = self._server.sockets or ()
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        logger.info("webhook server listening on %s:%s%s", self.listen, self.port, self.path)

    async def stop(self, grace: float) -> None:
        """Refuse new requests, let the ones in hand finish (``grace`` seconds), close."""
        self.stopping = True
        if self._server is not None:
            self._server.close()
        if self._in_hand:
            await asyncio.wait(list(self._in_hand), timeout=grace)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not self.stopping:
                try:
                    keep_alive = await self._one_request(reader, writer)
                except _Refused as refused:
                    await self._respond(writer, refused.status, close=True)
                    return
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            return  # the client went away, sent garbage, or a line over the limit
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Read and answer one request; whether the connection stays open."""
        request_line = await asyncio.wait_for(reader.readline(), IDLE_SECONDS)
        if not request_line:
            return False
        parts = request_line.decode("latin-1").split()
        if len(parts) != 3:
            raise _Refused(400)
        method, target, version = parts
        headers = await self._headers(reader)
        if self.stopping:
            raise _Refused(503)
        if target.split("?", 1)[0] != self.path:
            raise _Refused(404)
        if method != "POST":
            raise _Refused(405)
        # The secret first, then the size: neither needs the body, which stays unread.
        given = headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, self.secret):
            logger.info("webhook request without the right secret token refused")
            raise _Refused(403)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _Refused(411)
        length_text = headers.get("content-length")
        if length_text is None or not length_text.isdigit():
            raise _Refused(411)
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            logger.warning("webhook request of %d bytes refused (over %d)", length, MAX_BODY_BYTES)
            raise _Refused(413)
        body = await asyncio.wait_for(reader.readexactly(length), IDLE_SECONDS)
        task = asyncio.create_task(self._handle(body))
        self._in_hand.add(task)
        task.add_done_callback(self._in_hand.discard)
        status = await _result(task)
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        await self._respond(writer, status, close=not keep)
        return keep

    async def _headers(self, reader: asyncio.StreamReader) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            line = await asyncio.wait_for(reader.readline(), IDLE_SECONDS)
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise _Refused(400)
            headers[name.strip().lower()] = value.strip()
        raise _Refused(431)

    async def _handle(self, body: bytes) -> None:
        try:
            data: Any = json.loads(body)
        except ValueError:
            logger.error("webhook body is not JSON; skipped")
            return
        update_id = data.get("update_id") if isinstance(data, dict) else None
        try:
            update = Update.de_json(data, self.bot)
        except Exception as exc:
            logger.error("malformed update %s skipped (%s: %s)", update_id, type(exc).__name__, exc)
            return
        await self.delivery.submit(update)

    async def _respond(self, writer: asyncio.StreamWriter, status: int, *, close: bool) -> None:
        body = b'{"ok":true}' if status == 200 else b""
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Content-Type: application/json\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + body)
        await writer.drain()


async def _result(task: asyncio.Task[None]) -> int:
    """200 once the update is handled; 500 when storing it failed (Telegram sends it again)."""
    try:
        await asyncio.shield(task)
    except Exception:
        logger.exception("an update from the webhook could not be handled")
        return 500
    return 200
