"""Who may /reload: only an admin's own, new message -- every other way in is refused.

Each case runs a real update through ``Application.process_update`` (recording network) with
the knowledge file changed on disk, so a reload that slipped through would show: the
holder's version would move and :meth:`KnowledgeHolder.reload` would have been called. An
admin's own /reload (private and group) is the control that the same setup does reload.
Also here: an update delivered twice is handled once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.harness import (
    ADMIN,
    ANONYMOUS_ADMIN_BOT,
    CHANNEL,
    GROUP,
    OTHER,
    USER,
    Harness,
    chat,
    make_settings,
    message,
    open_harness,
    person,
    text_update,
    update,
)
from fakes.recording_request import BOT_USERNAME

from bot import texts
from bot.reloading import KnowledgeHolder, ReloadOutcome

TELEGRAM_SERVICE_USER = 777000
"""The sender Telegram shows on a channel post automatically forwarded to its linked group."""
CHANNEL_BOT = 136817688
"""The sender Telegram shows on a message a user sends on behalf of a channel."""


_WITH_FACT: dict[str, str] = {}


def add_fact(facts: Path) -> None:
    """Write the knowledge file with one fact more (the YAML is made once per module)."""
    original = facts.read_text(encoding="utf-8")
    if original not in _WITH_FACT:
        _WITH_FACT[original] = _with_fact(original)
    facts.write_text(_WITH_FACT[original], encoding="utf-8")


def _with_fact(text: str) -> str:
    data = yaml.safe_load(text)
    data["facts"].append(
        {
            "id": "access_test_fact",
            "questions": ["What does the access test add?"],
            "answer": "A fact that only a reload would serve.",
            "quote": "Azerbaijan and Turkiye have discussed the cooperation between the two "
            "countries",
        }
    )
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


class Spy:
    """Counts the holder's reloads."""

    def __init__(self, holder: KnowledgeHolder) -> None:
        self.calls = 0
        self._reload = holder.reload

    async def __call__(self) -> ReloadOutcome:
        self.calls += 1
        return await self._reload()


@pytest.fixture
async def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    # the anonymous-admin bot is listed as an admin too: listing it must not open a door
    settings = make_settings(tmp_path, admins=frozenset({ADMIN, ANONYMOUS_ADMIN_BOT}))
    holder = _holder(settings)
    add_fact(settings.facts)  # on disk only: a reload would serve it
    async with open_harness(settings, holder) as h:
        spy = Spy(h.holder)
        monkeypatch.setattr(h.holder, "reload", spy)
        h.spy = spy  # type: ignore[attr-defined]
        yield h


_FIRST: dict[str, Any] = {}


def _holder(settings: Any) -> KnowledgeHolder:
    """A holder on the copied files; the first engine is built once for the module."""
    if "engine" not in _FIRST:
        real = KnowledgeHolder.load(settings.facts, settings.article, settings.matching)
        _FIRST["engine"] = real.engine
    return KnowledgeHolder(_FIRST["engine"], settings.facts, settings.article, settings.matching)


def refusal(chat_id: int, reply_to: int | None = None) -> list[tuple[str, dict[str, Any]]]:
    params: dict[str, Any] = {"chat_id": chat_id, "text": texts.ENGLISH.not_admin}
    if reply_to is not None:
        # Defaults(parse_mode=HTML) reaches the reply parameters too (ignored with no quote)
        params["reply_parameters"] = {"message_id": reply_to, "quote_parse_mode": "HTML"}
    return [("sendMessage", params)]


def assert_not_reloaded(h: Harness) -> None:
    assert h.spy.calls == 0  # type: ignore[attr-defined]
    assert h.holder.version == 1
    assert h.holder.engine.kb.fact("access_test_fact") is None


def admin_message(text: str = "Any news?") -> dict[str, Any]:
    return message(text, chat_id=GROUP, from_id=ADMIN)


def forwarded_from_admin() -> dict[str, Any]:
    return {"type": "user", "sender_user": person(ADMIN), "date": int(time.time())}


# (description, update, expected calls) for a group the admin is a member of
GROUP_CASES: list[tuple[str, Any]] = [
    ("non-admin", lambda: text_update("/reload", chat_id=GROUP, from_id=USER)),
    ("non-admin, addressed", lambda: text_update(f"/reload@{BOT_USERNAME}", chat_id=GROUP)),
    (
        "non-admin replying to the admin",
        lambda: text_update("/reload", chat_id=GROUP, reply_to_message=admin_message()),
    ),
    (
        "forwarded from the admin by a non-admin",
        lambda: text_update("/reload", chat_id=GROUP, forward_origin=forwarded_from_admin()),
    ),
    (
        "forwarded by the admin from themselves",
        lambda: text_update(
            "/reload", chat_id=GROUP, from_id=ADMIN, forward_origin=forwarded_from_admin()
        ),
    ),
    (
        "anonymous group admin (sender_chat is the group)",
        lambda: text_update(
            "/reload", chat_id=GROUP, from_id=ANONYMOUS_ADMIN_BOT, sender_chat=chat(GROUP)
        ),
    ),
    (
        "admin's user id but sent on behalf of the group",
        lambda: text_update("/reload", chat_id=GROUP, from_id=ADMIN, sender_chat=chat(GROUP)),
    ),
    (
        "sent on behalf of a channel",
        lambda: text_update(
            "/reload", chat_id=GROUP, from_id=CHANNEL_BOT, sender_chat=chat(CHANNEL)
        ),
    ),
    (
        "channel post automatically forwarded to the group",
        lambda: text_update(
            "/reload",
            chat_id=GROUP,
            from_id=TELEGRAM_SERVICE_USER,
            sender_chat=chat(CHANNEL),
            is_automatic_forward=True,
        ),
    ),
]


@pytest.mark.parametrize(("case", "make"), GROUP_CASES, ids=[c for c, _ in GROUP_CASES])
async def test_reload_in_a_group_is_refused(harness: Harness, case: str, make: Any) -> None:
    data = make()
    calls = await harness.send(data)
    assert calls == refusal(GROUP, reply_to=data["message"]["message_id"]), case
    assert_not_reloaded(harness)


async def test_reload_forwarded_from_an_admin_in_private_is_refused(harness: Harness) -> None:
    calls = await harness.send(text_update("/reload", forward_origin=forwarded_from_admin()))
    assert calls == refusal(USER)
    assert_not_reloaded(harness)


async def test_reload_as_a_channel_post_is_refused(harness: Harness) -> None:
    post = message("/reload", chat_id=CHANNEL, from_id=None, sender_chat=chat(CHANNEL))
    calls = await harness.send(update("channel_post", **post))
    assert calls == refusal(CHANNEL, reply_to=post["message_id"])
    assert_not_reloaded(harness)


@pytest.mark.parametrize(
    ("kind", "chat_id", "from_id"),
    [
        ("edited_message", ADMIN, ADMIN),  # the admin edits a question into /reload
        ("edited_message", GROUP, ADMIN),
        ("edited_message", GROUP, USER),
        ("edited_channel_post", CHANNEL, None),
    ],
)
async def test_message_edited_into_reload_does_nothing(
    harness: Harness, kind: str, chat_id: int, from_id: int | None
) -> None:
    original = message("Who met whom?", chat_id=chat_id, from_id=from_id)
    edited = {**original, **message("/reload", chat_id=chat_id, from_id=from_id)}
    edited["message_id"] = original["message_id"]
    edited["edit_date"] = int(time.time())
    if from_id is None:
        edited["sender_chat"] = chat(CHANNEL)
    assert await harness.send(update(kind, **edited)) == []
    assert_not_reloaded(harness)


@pytest.mark.parametrize(
    "chat_id",
    [GROUP, pytest.param(ADMIN, marks=pytest.mark.slow)],  # a real build each
)
async def test_the_admins_own_reload_does_reload(harness: Harness, chat_id: int) -> None:
    """The control: the same setup reloads when the admin sends /reload themselves."""
    calls = await harness.send(text_update("/reload", chat_id=chat_id, from_id=ADMIN))
    assert len(calls) == 1 and "Added: access_test_fact" in calls[0][1]["text"]
    assert harness.spy.calls == 1  # type: ignore[attr-defined]
    assert harness.holder.engine.kb.fact("access_test_fact") is not None


async def test_an_update_delivered_twice_is_handled_once(harness: Harness) -> None:
    data = text_update("Who met whom?", chat_id=OTHER, from_id=OTHER)
    first = await harness.send(data)
    assert len(first) == 1 and first[0][0] == "sendMessage"
    assert await harness.send(data) == []  # same update_id: dropped before any handler
    again = text_update("Who met whom?", chat_id=OTHER, from_id=OTHER)  # a new update
    assert await harness.send(again) == first
    reload_twice = text_update("/reload", chat_id=ADMIN, from_id=ADMIN)
    await harness.send(reload_twice)
    await harness.send(reload_twice)
    assert harness.spy.calls == 1  # type: ignore[attr-defined]
