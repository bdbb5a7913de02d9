"""The unanswered-questions file read back for the knowledge editors.

``logging.unanswered_file`` collects one JSON line per question the bot could not answer
(:func:`bot.telegram.question_log.record_unanswered`). This module reads it back -- line by
line, so a file of millions of lines costs memory per *different* question only -- groups
the questions that are the same but for case, spacing and trailing punctuation, and lists
the most asked of the last days, each with a line ready to paste under a fact's
``questions:``. ``python -m bot unanswered``, the console chat's ``/unanswered`` and the
Telegram command of the same name all show it; nothing here imports Telegram.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TextIO

import yaml

from bot import texts
from bot.budget import TELEGRAM_MAX_CHARS, escape_within, telegram_length

DEFAULT_DAYS: Final = 30
DEFAULT_TOP: Final = 20
MAX_LINE_CHARS: Final = 1 << 20
"""A longer line is no record the bot writes (a Telegram message has 4096 characters): it is
skipped without being held in memory whole."""
_TRAILING: Final = " \t\r\n\f\v.,;:!?…¿¡؟\uff1f\uff01。、"  # \uff1f\uff01: full-width ?!
"""Stripped from the end of a question before grouping ("Who is she ?" is "who is she")."""
_META_BUDGET: Final = 300
_PASTE_BUDGET: Final = 1000
_ROOM: Final = TELEGRAM_MAX_CHARS - 200
"""What the listed entries may fill of a Telegram message; the rest is the "more" line's."""


class UnansweredFileError(Exception):
    """The file cannot be read (missing, a folder, no permission): one line saying so."""


def question_key(question: str) -> str:
    """What groups questions: case folded, whitespace squeezed, trailing punctuation gone."""
    return " ".join(question.casefold().split()).rstrip(_TRAILING)


def paste_form(question: str) -> str:
    """``question`` as one YAML list item to paste under a fact's ``questions:``.

    Written by the YAML dumper, double-quoted on one line, so quotes, colons, backslashes
    and line breaks are escaped and the line reads back as exactly ``question``.
    """
    dumped = yaml.safe_dump([question], default_style='"', allow_unicode=True, width=math.inf)
    return dumped.rstrip("\n")


@dataclass(frozen=True, slots=True)
class Entry:
    """One question as the editors see it: how often and when it was last asked."""

    question: str
    """The most common spelling among the grouped ones."""
    count: int
    language: str
    """The language most of them were asked in ("?" when the records do not say)."""
    last: datetime
    """When it was last asked (UTC)."""

    @property
    def phrasing(self) -> str:
        """The "copy as phrasing" form: ``- "who is she?"``."""
        return paste_form(self.question)

    def to_json(self) -> dict[str, Any]:
        """The ``unanswered --json`` object."""
        return {
            "question": self.question,
            "count": self.count,
            "language": self.language,
            "last": self.last.isoformat(timespec="seconds"),
            "phrasing": self.phrasing,
        }


@dataclass(frozen=True, slots=True)
class Summary:
    """The most asked questions of the window, and what the file held besides."""

    entries: tuple[Entry, ...]
    """The top ones, most asked first (ties: most recently asked first)."""
    days: int
    asked: int
    """Records within the window."""
    distinct: int
    """Different questions (groups) within the window; more than ``entries`` when cut."""
    older: int = 0
    """Records before the window."""
    skipped: int = 0
    """Lines that are no unanswered-question record."""
    first_skipped: int | None = None
    """The line number (from 1) of the first of them."""

    def skipped_note(self, language: str = "en") -> str | None:
        """The one line saying how many lines were skipped and where the first was (None
        when every line was a record)."""
        if not self.skipped:
            return None
        said = texts.of(language)
        note = said.unanswered_skipped_one if self.skipped == 1 else said.unanswered_skipped
        return note.format(count=self.skipped, line=self.first_skipped)


class _Group:
    __slots__ = ("count", "languages", "last", "spellings")

    def __init__(self, when: datetime) -> None:
        self.count = 0
        self.last = when
        self.spellings: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError):  # no ISO time, or one beyond the years 1 to 9999 in UTC
        return None


def _record(line: str) -> tuple[str, datetime, str] | None:
    """(question, time, language) of one line, or None when it is no such record."""
    try:
        data = json.loads(line)
    except ValueError:  # JSONDecodeError, and numbers too long to convert
        return None
    if not isinstance(data, dict) or not isinstance(data.get("question"), str):
        return None
    when = _time(data.get("time"))
    if when is None:  # no window can hold a record without its time
        return None
    language = data.get("language")
    return data["question"], when, language if isinstance(language, str) and language else "?"


def _lines(handle: TextIO) -> Iterator[str | None]:
    """The file's lines one at a time; None for a line too long to be a record."""
    while line := handle.readline(MAX_LINE_CHARS):
        if len(line) >= MAX_LINE_CHARS and not line.endswith("\n"):
            while (rest := handle.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
                pass  # the rest of the overlong line, read and dropped
            yield None
        else:
            yield line


def summarise(
    lines: Iterable[str | None],
    *,
    days: int = DEFAULT_DAYS,
    top: int = DEFAULT_TOP,
    now: datetime | None = None,
) -> Summary:
    """Group and count the records among ``lines``, as they come (None: a skipped line).

    Only records from the last ``days`` days before ``now`` (default: the clock) count;
    blank lines are passed over, and any other line that is not a JSON object with a string
    ``question`` and an ISO ``time`` is counted as skipped.
    """
    now = now if now is not None else datetime.now(UTC)
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    try:
        cutoff = now - timedelta(days=days)
    except OverflowError:  # a window reaching before the year 1: every record is in it
        cutoff = datetime.min.replace(tzinfo=UTC)
    groups: dict[str, _Group] = {}
    asked = older = skipped = 0
    first_skipped: int | None = None
    for number, line in enumerate(lines, 1):
        if line is not None and not line.strip():
            continue
        record = _record(line) if line is not None else None
        if record is None:
            skipped += 1
            first_skipped = first_skipped or number
            continue
        question, when, language = record
        if when < cutoff:
            older += 1
            continue
        asked += 1
        key = question_key(question)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(when)
        group.count += 1
        group.last = max(group.last, when)
        group.spellings[question] += 1
        group.languages[language] += 1
    ranked = sorted(groups.items(), key=lambda item: (-item[1].count, -item[1].last.timestamp()))
    entries = tuple(
        Entry(
            question=group.spellings.most_common(1)[0][0],
            count=group.count,
            language=group.languages.most_common(1)[0][0],
            last=group.last,
        )
        for _, group in ranked[:top]
    )
    return Summary(entries, days, asked, len(groups), older, skipped, first_skipped)


def read_unanswered(
    path: Path,
    *,
    days: int = DEFAULT_DAYS,
    top: int = DEFAULT_TOP,
    now: datetime | None = None,
) -> Summary:
    """:func:`summarise` the file at ``path``, streamed; UnansweredFileError if unreadable."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return summarise(_lines(handle), days=days, top=top, now=now)
    except FileNotFoundError:
        raise UnansweredFileError(f"unanswered-questions file not found: {path}") from None
    except IsADirectoryError:
        raise UnansweredFileError(f"{path} is a folder, not an unanswered-questions file") from None
    except OSError as exc:
        raise UnansweredFileError(f"cannot read {path}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------------------
# Rendering: the same lines for the console (plain) and Telegram (HTML)


def _meta(number: int, entry: Entry, language: str) -> str:
    last = entry.last.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = texts.of(language).unanswered_entry.format(
        count=entry.count, language=entry.language, last=last
    )
    return f"{number}. {meta}"


def _head(summary: Summary, language: str) -> list[str]:
    said = texts.of(language)
    lines = [said.unanswered_title.format(days=summary.days)]
    if summary.asked:
        lines.append(said.unanswered_summary.format(asked=summary.asked, distinct=summary.distinct))
    else:
        lines.append(said.unanswered_empty.format(days=summary.days))
        if summary.older:
            lines.append(said.unanswered_older.format(count=summary.older))
    note = summary.skipped_note(language)
    if note is not None:
        lines.append(note)
    return lines


def render_plain(summary: Summary, language: str = "en") -> str:
    """The list as console text: each entry's count, language and last time, then its
    paste form."""
    lines = _head(summary, language)
    for number, entry in enumerate(summary.entries, 1):
        lines.append(_meta(number, entry, language))
        lines.append(f"   {entry.phrasing}")
    if summary.distinct > len(summary.entries):
        more = summary.distinct - len(summary.entries)
        lines.append(texts.of(language).unanswered_more.format(count=more))
    return "\n".join(lines)


def render_html(summary: Summary, language: str = "en") -> str:
    """The list as Telegram HTML within :data:`TELEGRAM_MAX_CHARS`: the paste forms in
    ``<code>`` (a tap copies one); entries past the limit are counted in the "more" line."""
    title, *rest = _head(summary, language)
    out = [f"<b>{escape_within(title, _META_BUDGET)}</b>"]
    out.extend(escape_within(line, _META_BUDGET) for line in rest)
    used = sum(telegram_length(line) + 1 for line in out)
    shown = 0
    for number, entry in enumerate(summary.entries, 1):
        block = (
            f"{escape_within(_meta(number, entry, language), _META_BUDGET)}\n"
            f"<code>{escape_within(entry.phrasing, _PASTE_BUDGET)}</code>"
        )
        cost = telegram_length(block) + 1
        if used + cost > _ROOM:
            break
        out.append(block)
        used += cost
        shown += 1
    if summary.distinct > shown:
        more = texts.of(language).unanswered_more.format(count=summary.distinct - shown)
        out.append(escape_within(more, _META_BUDGET))
    return "\n".join(out)


def report(
    path: Path | None,
    language: str = "en",
    *,
    html: bool = False,
    days: int = DEFAULT_DAYS,
    top: int = DEFAULT_TOP,
    now: datetime | None = None,
) -> str:
    """What ``/unanswered`` says, in the console (plain) and in Telegram (``html``).

    No file configured, a file not written yet (no question went unanswered so far) and an
    unreadable one each get one clear sentence instead of the list.
    """
    if path is None:
        note = texts.of(language).unanswered_no_file
    elif not path.exists():
        note = texts.of(language).unanswered_not_yet
    else:
        try:
            summary = read_unanswered(path, days=days, top=top, now=now)
        except UnansweredFileError as exc:
            note = texts.of(language).unanswered_unreadable.format(error=exc)
        else:
            return render_html(summary, language) if html else render_plain(summary, language)
    return escape_within(note, TELEGRAM_MAX_CHARS) if html else note
