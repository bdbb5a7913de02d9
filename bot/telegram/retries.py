"""What is retried when the Bot API fails (:class:`ResilientRequest`): getUpdates inside
the call, with capped backoff, and nothing once stopping.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Final

import httpx
from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.telegram.lifecycle import Lifecycle

logger = logging.getLogger(__name__)

STOPPING_TIMEOUT: Final = 1.5
"""Once stopping, no Bot API call waits longer than this (connect, write, read, pool)."""
RETRY_FIRST_SECONDS: Final = 0.5
RETRY_MAX_SECONDS: Final = 10.0


def _endpoint(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def _json_object(payload: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _retry_after(payload: bytes) -> float | None:
    data = _json_object(payload) or {}
    parameters = data.get("parameters")
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    return float(value) if isinstance(value, int | float) and value >= 0 else None


def _skip_malformed(payload: bytes) -> bytes:
    """getUpdates' answer with every update PTB cannot read replaced by a bare ``update_id``.

    PTB reads a batch as a whole: one update it cannot read (a message without ``chat`` or
    ``date``) fails the call, the offset never moves and polling is stuck on it for good.
    The bare update is handled as nothing, so the offset moves past it.
    """
    data = _json_object(payload)
    results = data.get("result") if data is not None else None
    if not isinstance(results, list):
        return payload
    cleaned: list[Any] = []
    changed = False
    for item in results:
        try:
            Update.de_json(item, None)
        except Exception as exc:
            changed = True
            update_id = item.get("update_id") if isinstance(item, dict) else None
            logger.error("malformed update %s skipped (%s: %s)", update_id, type(exc).__name__, exc)
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                cleaned.append({"update_id": update_id})
        else:
            cleaned.append(item)
    if not changed:
        return payload
    return json.dumps({**(data or {}), "result": cleaned}).encode()


class ResilientRequest(HTTPXRequest):
    """The bot's Bot API connection: retries what is safe to retry, and never holds up a stop.

    * ``getUpdates`` is idempotent (the same offset gets the same updates), so every transient
      failure -- no connection, a dropped connection, 5xx, 409, 429 (after its
      ``retry_after``), a body that is not JSON -- is retried with capped exponential
      backoff, *inside* the call, which :func:`poll_updates` cancels when the bot stops: no
      backoff delays a stop (PTB's own polling backoff, up to 30 s, could not be cut short).
    * Any other call is not retried here: replies are retried by the outbox
      (:class:`~bot.telegram.delivery.Delivery`, per chat, until delivered or expired) and
      the command menus by their background task -- one retry layer each.
    * An update in getUpdates' answer that PTB cannot read is logged with its id and
      replaced by a bare ``update_id`` (:func:`_skip_malformed`), so the offset moves on.
    * Once stopping, nothing is retried and no call waits longer than ``STOPPING_TIMEOUT``.
    """

    def __init__(self, lifecycle: Lifecycle, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lifecycle = lifecycle

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        timeouts = {
            "read_timeout": read_timeout,
            "write_timeout": write_timeout,
            "connect_timeout": connect_timeout,
            "pool_timeout": pool_timeout,
        }
        endpoint = _endpoint(url)
        if endpoint != "getUpdates":
            if self.lifecycle.stopping:
                timeouts = dict.fromkeys(timeouts, STOPPING_TIMEOUT)
            return await super().do_request(url, method, request_data, **timeouts)
        attempt = 0
        while True:
            if self.lifecycle.stopping:
                timeouts = dict.fromkeys(timeouts, STOPPING_TIMEOUT)
            failure: NetworkError | None = None
            wait: float | None = None
            try:
                code, payload = await super().do_request(url, method, request_data, **timeouts)
            except TimedOut as exc:
                # A long poll that ran out: PTB polls again at once.
                if not isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout):
                    raise
                failure, reason = exc, f"{type(exc.__cause__).__name__}"
            except NetworkError as exc:
                failure, reason = exc, str(exc)
            else:
                if 500 <= code <= 599:
                    reason = f"HTTP {code}"
                elif code == 409:
                    reason = "HTTP 409 Conflict"
                elif code == 429:
                    wait = _retry_after(payload)
                    reason = "HTTP 429 Too Many Requests"
                elif 200 <= code <= 299 and _json_object(payload) is None:
                    reason = "a response that is not JSON"
                elif 200 <= code <= 299:
                    return code, _skip_malformed(payload)
                else:
                    return code, payload
            if self.lifecycle.stopping:
                if failure is not None:
                    raise failure
                return code, payload
            if wait is None:
                wait = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2**attempt)
            attempt += 1
            logger.warning(
                "Bot API %s failed (%s); retry %d in %.1f s", endpoint, reason, attempt, wait
            )
            await asyncio.sleep(wait)  # poll_updates cancels the whole call at a stop
