"""Logging for ``python -m bot run``: one stderr handler whose filter redacts secrets.

Nothing here runs at import time; :func:`configure_logging` is called by ``run()`` only.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import quote

REDACTED = "[REDACTED]"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
NOISY_LOGGERS = ("httpx", "httpcore")
"""Loggers quieted to WARNING: httpx logs every request URL, and the URL holds the token."""

_EXC_FORMATTER = logging.Formatter()


def secret_variants(secret: str) -> list[str]:
    """The forms a secret can take in a log: as is, URL-quoted, and a token's part after ':'."""
    variants = {secret, quote(secret, safe=""), quote(secret)}
    _, colon, tail = secret.partition(":")
    if colon and len(tail) >= 8:
        variants.add(tail)
    # Longest first so a token is replaced whole, not only its tail.
    return sorted((v for v in variants if v), key=len, reverse=True)


class RedactingFilter(logging.Filter):
    """Replaces every secret in a record's message, arguments, exception and stack text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        found: set[str] = set()
        for secret in secrets:
            if secret:
                found.update(secret_variants(secret))
        self._secrets = sorted(found, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED]``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXC_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(
    level: str, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) through the redacting filter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactingFilter(secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.captureWarnings(True)  # warnings go through the same filter
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
