"""The token never reaches a log: the redacting filter on the root handler (bot/logsetup.py)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logsetup import REDACTED, configure_logging

TOKEN = "123456789:AAE-test-SECRET-token"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    out = io.StringIO()
    configure_logging("DEBUG", [TOKEN], out)
    yield out
    logging.captureWarnings(False)
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def test_token_is_redacted_from_message_args_and_exceptions(stream: io.StringIO) -> None:
    log = logging.getLogger("some.library")
    log.info("url https://api.telegram.org/bot%s/getMe", TOKEN)
    log.debug(f"plain {TOKEN} and quoted {TOKEN.replace(':', '%3A')}")
    log.warning("secret part only: %s", TOKEN.split(":")[1])
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError:
        log.exception("failed")
    text = stream.getvalue()
    assert TOKEN not in text and "AAE-test-SECRET-token" not in text
    assert "%3AAAE" not in text
    assert text.count(REDACTED) >= 5
    assert "RuntimeError" in text and "Traceback" in text


def test_httpx_is_quieted(stream: io.StringIO) -> None:
    logging.getLogger("httpx").info("HTTP Request: POST https://x/bot%s/getMe", TOKEN)
    assert stream.getvalue() == ""
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING


def test_bad_format_arguments_do_not_hide_the_record(stream: io.StringIO) -> None:
    logging.getLogger("x").info("two %s %s", TOKEN)
    assert REDACTED in stream.getvalue() and TOKEN not in stream.getvalue()
