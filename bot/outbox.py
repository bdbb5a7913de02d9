"""The durable outbox: every reply the bot owes, in SQLite, until it is delivered or expires.

No Telegram import here; :mod:`bot.telegram.delivery` sends what this stores. Why a file:
an update is confirmed to Telegram (polling offset, webhook 200) only once its replies are
*here*, committed, so a crash, SIGTERM or a Bot API outage cannot lose an answer: the next
start sends what is left.

Each reply is keyed by ``(update_id, seq)`` (its update, and its place among that update's
replies), so handling the same update again -- Telegram delivering it twice, or a restart
before the offset reached Telegram -- stores nothing new: a reply is sent at most once per
key. ``handled`` remembers which updates are done, for the same reason.

A row's state: ``pending`` (to send), ``sending`` (the HTTP request has started), ``sent``,
``uncertain`` (the request may or may not have been carried out: never resent, logged),
``dropped`` (refused by Telegram, or expired). A row still ``sending`` when the bot starts
was cut off mid-request by a crash or a stop: Telegram may have delivered it, and nothing can
tell, so it is sent again and logged as possibly duplicated (:meth:`Outbox.recover`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

logger = logging.getLogger(__name__)

DEFAULT_EXPIRY_HOURS: Final = 24.0
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS replies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    update_id INTEGER,
    seq INTEGER NOT NULL,
    chat_id INTEGER NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    resent INTEGER NOT NULL DEFAULT 0,
    UNIQUE (update_id, seq)
);
CREATE INDEX IF NOT EXISTS replies_state ON replies (state, id);
CREATE TABLE IF NOT EXISTS handled (update_id INTEGER PRIMARY KEY, at REAL NOT NULL);
"""
_OPEN_STATES: Final = ("pending", "sending")


class OutboxInUse(Exception):
    """Another process holds the outbox: two bots on one outbox would send its replies twice."""


def _lock(path: Path) -> int:
    """Take the outbox's lock file for this process's lifetime (released by the kernel when
    the process ends, however it ends); raises :class:`OutboxInUse` if another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise OutboxInUse(
            f"another bot process (pid {holder}) is using the outbox {path.with_suffix('')}; "
            "stop it first, or give this one its own telegram.outbox_path"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode("ascii"))
    return fd


@dataclass(slots=True)
class Row:
    """One reply owed to a chat."""

    id: int
    update_id: int | None
    seq: int
    chat_id: int
    params: dict[str, Any]
    created: float
    attempts: int = 0
    resent: bool = False
    """True when it was being sent when the bot last stopped (it may arrive twice)."""


class Outbox:
    """The replies owed, in one SQLite file (standard library ``sqlite3``, WAL journal).

    Every method is a short transaction called from the event loop's thread; each commit is
    synced (``synchronous=FULL``), so what a method stored survives a crash or a power cut.
    """

    def __init__(
        self,
        path: Path | str,
        expiry_seconds: float = DEFAULT_EXPIRY_HOURS * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.expiry_seconds = expiry_seconds
        self._clock = clock  # wall clock: ages must survive a restart
        self._lock: int | None = None
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = _lock(self.path.with_name(self.path.name + ".lock"))
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None)
        except sqlite3.Error:
            self._unlock()
            raise
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()
        self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the lock
            self._lock = None

    # -- writing -------------------------------------------------------------------------------

    def add(
        self, update_id: int | None, seq: int, chat_id: int, params: dict[str, Any]
    ) -> Row | None:
        """Store one reply; None when ``(update_id, seq)`` is stored already (never twice)."""
        now = self._clock()
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO replies (update_id, seq, chat_id, params, created)"
            " VALUES (?, ?, ?, ?, ?)",
            (update_id, seq, chat_id, json.dumps(params, ensure_ascii=False), now),
        )
        if cursor.rowcount == 0:
            return None
        row_id = cursor.lastrowid
        assert row_id is not None
        return Row(row_id, update_id, seq, chat_id, params, now)

    def mark_handled(self, update_id: int) -> None:
        """Record that ``update_id`` is done: every reply it produced is stored."""
        self._db.execute(
            "INSERT OR IGNORE INTO handled (update_id, at) VALUES (?, ?)",
            (update_id, self._clock()),
        )

    def handled(self, update_id: int) -> bool:
        found = self._db.execute("SELECT 1 FROM handled WHERE update_id = ?", (update_id,))
        return found.fetchone() is not None

    def _set(self, row: Row, state: str) -> None:
        self._db.execute("UPDATE replies SET state = ? WHERE id = ?", (state, row.id))

    def mark_sending(self, row: Row) -> None:
        """The HTTP request for ``row`` is starting: from now on it may be delivered."""
        self._set(row, "sending")

    def mark_sent(self, row: Row) -> None:
        self._set(row, "sent")

    def mark_uncertain(self, row: Row) -> None:
        """Telegram may or may not have carried it out; it is not sent again."""
        self._set(row, "uncertain")

    def mark_dropped(self, row: Row) -> None:
        self._set(row, "dropped")

    def retry_later(self, row: Row) -> None:
        """The attempt certainly failed (nothing delivered): back to pending, one more try."""
        row.attempts += 1
        self._db.execute(
            "UPDATE replies SET state = 'pending', attempts = ? WHERE id = ?",
            (row.attempts, row.id),
        )

    def update_params(self, row: Row) -> None:
        """Store ``row.params`` again (a group that became a supergroup has a new chat id)."""
        self._db.execute(
            "UPDATE replies SET params = ?, chat_id = ? WHERE id = ?",
            (json.dumps(row.params, ensure_ascii=False), row.chat_id, row.id),
        )

    # -- reading -------------------------------------------------------------------------------

    def expired(self, row: Row) -> bool:
        return self._clock() - row.created > self.expiry_seconds

    def recover(self) -> list[Row]:
        """The replies still owed from earlier runs, oldest first, ready to send.

        A row left ``sending`` was cut off mid-request: it is sent again (Telegram cannot
        have told us whether it arrived) and logged as possibly duplicated.
        """
        rows = [
            Row(
                id=r[0],
                update_id=r[1],
                seq=r[2],
                chat_id=r[3],
                params=json.loads(r[4]),
                created=r[5],
                attempts=r[6],
                resent=bool(r[7]) or r[8] == "sending",
            )
            for r in self._db.execute(
                "SELECT id, update_id, seq, chat_id, params, created, attempts, resent, state"
                " FROM replies WHERE state IN (?, ?) ORDER BY id",
                _OPEN_STATES,
            )
        ]
        for row in rows:
            if row.resent:
                logger.warning(
                    "reply %s to update %s (chat %s) was being sent when the bot stopped; "
                    "sending it again: the user may get it twice",
                    row.id,
                    row.update_id,
                    row.chat_id,
                )
                self._db.execute(
                    "UPDATE replies SET state = 'pending', resent = 1 WHERE id = ?", (row.id,)
                )
        if rows:
            logger.info("outbox %s: %d repl(ies) from an earlier run to send", self.path, len(rows))
        return rows

    def counts(self) -> dict[str, int]:
        """How many rows are in each state (for logs and tests)."""
        return dict(self._db.execute("SELECT state, COUNT(*) FROM replies GROUP BY state"))

    def rows(self) -> list[tuple[int | None, int, int, str, int]]:
        """(update_id, seq, chat_id, state, resent) of every row, oldest first (for tests)."""
        return list(
            self._db.execute(
                "SELECT update_id, seq, chat_id, state, resent FROM replies ORDER BY id"
            )
        )

    def prune(self) -> int:
        """Forget finished rows and handled update ids older than the expiry; how many."""
        horizon = self._clock() - self.expiry_seconds
        done = self._db.execute(
            "DELETE FROM replies WHERE state NOT IN (?, ?) AND created < ?",
            (*_OPEN_STATES, horizon),
        ).rowcount
        done += self._db.execute("DELETE FROM handled WHERE at < ?", (horizon,)).rowcount
        return done
