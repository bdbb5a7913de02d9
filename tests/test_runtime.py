"""The runtime, in process: concurrency across chats and order within one, flood control on
every kind of update, reloads off the event loop, malformed updates, the durable outbox and
the offset that confirms only stored updates. No test waits on a wall clock: held handlers,
flood waits and builds are asyncio/threading events, limiters and the outbox use fake clocks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fakes.harness import (
    ADMIN,
    GROUP,
    OTHER,
    USER,
    Harness,
    make_settings,
    open_harness,
    person,
    text_update,
    update,
)
from fakes.recording_request import BOT_USERNAME, RecordingRequest
from telegram import Update

from bot import texts
from bot.outbox import Outbox, OutboxInUse
from bot.ratelimit import Decision, FloodControl, RateLimiter
from bot.reloading import KnowledgeHolder, ReloadFailure
from bot.render_html import render_html
from bot.replies import reply_to
from bot.telegram import retries
from bot.telegram.delivery import PerChatUpdateProcessor
from bot.telegram.lifecycle import Lifecycle
from bot.telegram.polling import poll_updates

QUESTION = "Who met whom?"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def as_update(data: dict[str, Any], h: Harness | None = None) -> Update:
    return Update.de_json(data, h.app.bot if h is not None else None)


# --- 1. concurrent across chats, ordered within a chat --------------------------------------


async def test_processor_orders_each_chat_and_never_holds_another_chat() -> None:
    processor = PerChatUpdateProcessor()
    done: list[str] = []
    gate = asyncio.Event()

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        if wait is not None:
            await wait.wait()
        done.append(name)

    a1 = as_update(text_update("1", chat_id=USER))
    a2 = as_update(text_update("2", chat_id=USER))
    b1 = as_update(text_update("3", chat_id=OTHER))
    first = asyncio.create_task(processor.process_update(a1, handle("A1", gate)))
    second = asyncio.create_task(processor.process_update(a2, handle("A2")))
    await processor.process_update(b1, handle("B1"))  # another chat: not held by A1
    assert done == ["B1"] and not second.done()  # A2 waits for A1, its chat's earlier one
    gate.set()
    await asyncio.gather(first, second)
    assert done == ["B1", "A1", "A2"]
    assert processor.chats_waiting() == 0  # the per-chat locks are forgotten


@pytest.fixture
async def started(tmp_path: Path) -> AsyncIterator[Harness]:
    """The harness with its application started (its update processor running)."""
    async with open_harness(make_settings(tmp_path)) as h:
        await h.app.start()
        try:
            yield h
        finally:
            await h.app.stop()


class Recorder:
    """Wraps a RecordingRequest: an event per chat that fires on a sendMessage to it."""

    def __init__(self, request: RecordingRequest) -> None:
        self.events: dict[int, asyncio.Event] = {}
        original = request.do_request

        async def do_request(url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
            result = await original(url, *args, **kwargs)
            if url.endswith("/sendMessage"):
                chat_id = int(request.calls[-1][1]["chat_id"])
                self.event(chat_id).set()
            return result

        request.do_request = do_request  # type: ignore[method-assign]

    def event(self, chat_id: int) -> asyncio.Event:
        return self.events.setdefault(chat_id, asyncio.Event())


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter's
async def test_a_private_question_never_waits_for_a_reload_or_a_groups_flood_wait(
    started: Harness,
) -> None:
    h = started
    recorder = Recorder(h.request)
    building, release = threading.Event(), threading.Event()
    original = h.holder._build

    def slow_build() -> Any:
        building.set()
        release.wait(30)
        return original()

    h.holder._build = slow_build  # type: ignore[method-assign]
    never = asyncio.Event()

    async def flood_wait(seconds: float) -> None:
        await never.wait()  # the group's flood wait lasts as long as the test

    h.delivery._sleep = flood_wait
    h.request.error_rules.append(
        lambda method, params: (
            (429, "Too Many Requests: retry after 30")
            if method == "sendMessage" and params["chat_id"] == GROUP
            else None
        )
    )
    reload_task = asyncio.create_task(
        h.delivery.submit(as_update(text_update("/reload", chat_id=ADMIN, from_id=ADMIN), h))
    )
    mention = f"@{BOT_USERNAME} {QUESTION}"
    group = [
        asyncio.create_task(
            h.delivery.submit(as_update(text_update(mention, chat_id=GROUP, from_id=OTHER), h))
        )
        for _ in range(3)
    ]
    await asyncio.to_thread(building.wait, 30)  # the reload is building
    await h.delivery.submit(as_update(text_update(QUESTION), h))  # handled, reply stored
    await recorder.event(USER).wait()  # and sent, while the reload builds and the group waits
    assert not reload_task.done()
    answer = [p for p in h.request.sent("sendMessage") if p["chat_id"] == USER]
    assert answer[0]["text"] == render_html(reply_to(h.engine, QUESTION))
    group_sends = [p for p in h.request.sent("sendMessage") if p["chat_id"] == GROUP]
    assert len(group_sends) == 1  # the group's first reply met the flood wait; the rest queue
    await asyncio.gather(*group)  # the group's updates are handled: their replies are stored
    assert h.delivery.outbox.counts()["pending"] == 3
    release.set()
    await reload_task
    await recorder.event(ADMIN).wait()


# --- 2. flood control on every kind of update ------------------------------------------------


def test_flood_control_counts_the_user_and_the_group() -> None:
    clock = FakeClock()
    flood = FloodControl(RateLimiter(3, 60, clock=clock), RateLimiter(2, 60, clock=clock))
    assert [flood.check(USER, GROUP) for _ in range(2)] == [Decision.ALLOW] * 2
    assert flood.check(OTHER, GROUP) is Decision.NOTIFY  # the group is full: one note...
    assert flood.check(USER, GROUP) is Decision.SILENT  # ...then silence
    assert flood.check(USER) is Decision.ALLOW  # the user's own chat is not the group's
    assert flood.check(USER) is Decision.NOTIFY  # the user's 4th in the window
    clock.now += 61
    assert flood.check(OTHER, GROUP) is Decision.ALLOW


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[Harness]:
    clock = FakeClock()
    async with open_harness(
        make_settings(tmp_path),
        limiter=RateLimiter(2, 60, clock=clock),
        chat_limiter=RateLimiter(3, 60, clock=clock),
    ) as h:
        yield h


async def replies_to(h: Harness, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [c for c in await h.send(data) if c[0] != "getMe"]


@pytest.mark.parametrize("command", ["/topics", "/start", "/help", "/source", "/nonsense"])
async def test_commands_are_flood_limited_with_one_note(limited: Harness, command: str) -> None:
    calls = [await replies_to(limited, text_update(command)) for _ in range(5)]
    assert [len(c) for c in calls] == [1, 1, 1, 0, 0]
    assert calls[2][0][1]["text"] == texts.ENGLISH.rate_limited


async def test_reload_refusals_are_flood_limited(limited: Harness) -> None:
    refusals = [
        await replies_to(limited, text_update("/reload", chat_id=GROUP, from_id=OTHER))
        for _ in range(6)
    ]
    texts_sent = [c[0][1]["text"] if c else None for c in refusals]
    said = texts.ENGLISH
    assert texts_sent == [said.not_admin, said.not_admin, said.rate_limited, None, None, None]


async def test_inline_queries_are_flood_limited(limited: Harness) -> None:
    def inline(n: int) -> dict[str, Any]:
        return update(
            "inline_query", id=f"q{n}", query=QUESTION, offset="", **{"from": person(USER)}
        )

    calls = [await replies_to(limited, inline(n)) for n in range(5)]
    assert [len(c) for c in calls] == [1, 1, 1, 0, 0]
    note = calls[2][0][1]
    assert note["results"] == [] and note["button"]["text"] == texts.ENGLISH.rate_limited[:64]


async def test_a_group_over_its_limit_gets_one_note_and_private_chats_go_on(
    limited: Harness,
) -> None:
    mention = f"@{BOT_USERNAME} {QUESTION}"
    users = range(9001, 9007)  # six different people: no user is over their own limit
    group = [
        await replies_to(limited, text_update(mention, chat_id=GROUP, from_id=u)) for u in users
    ]
    assert [len(c) for c in group] == [1, 1, 1, 1, 0, 0]
    assert group[3][0][1]["text"] == texts.ENGLISH.rate_limited
    private = await replies_to(limited, text_update(QUESTION, chat_id=9001, from_id=9001))
    assert private[0][1]["text"] == render_html(reply_to(limited.engine, QUESTION))


async def test_ignored_group_messages_cost_nothing(limited: Harness) -> None:
    for _ in range(10):
        assert await replies_to(limited, text_update(QUESTION, chat_id=GROUP, from_id=OTHER)) == []
    mention = f"@{BOT_USERNAME} {QUESTION}"
    calls = await replies_to(limited, text_update(mention, chat_id=GROUP, from_id=OTHER))
    assert calls[0][1]["text"] == render_html(reply_to(limited.engine, QUESTION))


# --- 3. reload off the event loop, bounded ----------------------------------------------------


def _children() -> set[int]:
    """Process ids of this process's children that are alive (the forkserver included)."""
    import multiprocessing

    return {p.pid for p in multiprocessing.active_children() if p.pid is not None}


@pytest.mark.slow  # a real build past its time limit; the fast loop keeps the memory limit
async def test_a_reload_that_takes_too_long_is_stopped_and_the_old_engine_serves(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    holder = KnowledgeHolder.load(settings.facts, settings.article, settings.matching)
    old = holder.engine
    holder.timeout = 0.01  # building the article's knowledge base takes ~0.6 s
    outcome = await holder.reload()
    assert isinstance(outcome, ReloadFailure) and "took over" in outcome.text()
    assert holder.engine is old and holder.version == 1
    assert _children() == set()  # the build was killed, not left running
    holder.timeout = 30  # nothing of the stopped build stands in the way of the next one
    assert not isinstance(await holder.reload(), ReloadFailure)
    assert holder.version == 2 and holder.engine is not old


async def test_a_reload_that_needs_too_much_memory_is_refused_and_the_old_engine_serves(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    holder = KnowledgeHolder.load(settings.facts, settings.article, settings.matching)
    old = holder.engine
    holder.memory = 64 << 20  # the build maps ~290 MB
    outcome = await holder.reload()
    assert isinstance(outcome, ReloadFailure) and "needed more than 64 MiB" in outcome.text()
    assert holder.engine is old and holder.version == 1


@pytest.mark.slow  # a child process builds the engine; 80 questions through both
async def test_the_engine_a_reload_builds_answers_as_the_one_built_in_process(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    shipped = Path(__file__).parents[1] / "knowledge"
    for name in ("decision.yaml", "embeddings.npz"):  # the decision rule and the meaning model
        shutil.copyfile(shipped / name, settings.facts.parent / name)
    holder = KnowledgeHolder.load(settings.facts, settings.article, settings.matching)
    local = holder.engine
    assert not isinstance(await holder.reload(), ReloadFailure)
    rebuilt = holder.engine
    assert rebuilt is not local and rebuilt.kb == local.kb
    questions = [q for fact in local.kb.facts for q in fact.questions[:3]]
    questions += ["who is she?", "what is the capital of France?", "Hallo, wie geht's?"]
    for question in questions:
        assert render_html(reply_to(rebuilt, question)) == render_html(reply_to(local, question))
    # the model itself is not copied: both engines share this process's one
    assert rebuilt.meaning is not None and local.meaning is not None
    assert rebuilt.meaning.embedder is local.meaning.embedder


# --- 5. a malformed update is skipped ----------------------------------------------------------


def test_malformed_updates_become_bare_update_ids(caplog: pytest.LogCaptureFixture) -> None:
    good = text_update(QUESTION)
    broken = {"update_id": 77, "message": {"message_id": 5, "text": "no chat, no date"}}
    payload = json.dumps({"ok": True, "result": [broken, good]}).encode()
    cleaned = json.loads(retries._skip_malformed(payload))
    assert cleaned["result"] == [{"update_id": 77}, good]
    assert any("malformed update 77 skipped" in r.getMessage() for r in caplog.records)
    assert retries._skip_malformed(b'{"ok": true, "result": []}') == b'{"ok": true, "result": []}'


# --- 6. the outbox ----------------------------------------------------------------------------


def test_a_reply_is_stored_once_per_update_and_place(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    assert outbox.add(5, 0, USER, {"text": "a"}) is not None
    assert outbox.add(5, 0, USER, {"text": "a"}) is None  # the same update handled again
    assert outbox.add(5, 1, USER, {"text": "b"}) is not None
    outbox.mark_handled(5)
    assert outbox.handled(5) and not outbox.handled(6)
    outbox.close()
    reopened = Outbox(tmp_path / "o.sqlite3")  # survives a restart
    assert [r.params["text"] for r in reopened.recover()] == ["a", "b"] and reopened.handled(5)


def test_a_row_cut_off_while_sending_is_resent_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    sending = outbox.add(1, 0, USER, {"text": "in flight at the crash"})
    waiting = outbox.add(2, 0, USER, {"text": "never left"})
    assert sending is not None and waiting is not None
    outbox.mark_sending(sending)
    outbox.close()  # the crash
    rows = Outbox(tmp_path / "o.sqlite3").recover()
    assert [(r.update_id, r.resent) for r in rows] == [(1, True), (2, False)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "update 1" in warnings[0] and "may get it twice" in warnings[0]


async def test_a_send_cancelled_in_the_rate_limiter_was_never_sending(tmp_path: Path) -> None:
    """Telegram's per-group limit (20 a minute) holds the 21st reply in the rate limiter; a
    stop then leaves it ``pending`` -- resent at the next start without a duplicate warning
    -- while the 20 sent are ``sent``."""
    async with open_harness(make_settings(tmp_path)) as h:
        for n in range(21):
            h.delivery.reply(n + 1, GROUP, {"text": f"reply {n}"})
        while len(h.request.sent("sendMessage")) < 20:
            await asyncio.sleep(0)
        for _ in range(50):
            await asyncio.sleep(0)  # the 21st is waiting for the group limiter now
        await h.delivery.stop(grace=0)
        states = [state for *_, state, _ in h.delivery.outbox.rows()]
        assert states == ["sent"] * 20 + ["pending"]
        assert len(h.request.sent("sendMessage")) == 20


def test_one_outbox_serves_one_process_at_a_time(tmp_path: Path) -> None:
    first = Outbox(tmp_path / "outbox.sqlite3")
    with pytest.raises(OutboxInUse, match=rf"pid {os.getpid()}\b.*outbox\.sqlite3"):
        Outbox(tmp_path / "outbox.sqlite3")
    Outbox(tmp_path / "other.sqlite3").close()  # another file is another lock
    first.close()
    Outbox(tmp_path / "outbox.sqlite3").close()  # free again once closed


async def test_the_outbox_is_flushed_at_the_next_start(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.add(41, 0, USER, {"text": "left by the last run", "parse_mode": "HTML"})
    outbox.close()
    async with open_harness(settings) as h:
        assert h.delivery.resume() == 1
        await h.delivery.drain()
        sent = h.request.sent("sendMessage")
    assert sent == [{"chat_id": USER, "text": "left by the last run", "parse_mode": "HTML"}]


class ScriptedUpdates(RecordingRequest):
    """getUpdates answers with the updates not yet confirmed by an offset; records offsets."""

    def __init__(self, updates: list[dict[str, Any]]) -> None:
        super().__init__()
        self.queue = list(updates)
        self.offsets: list[int | None] = []
        self.polled = asyncio.Event()

    async def do_request(self, url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if not url.endswith("/getUpdates"):
            return await super().do_request(url, *args, **kwargs)
        data = args[1] if len(args) > 1 else kwargs.get("request_data")
        params = dict(data.parameters) if data is not None else {}
        offset = params.get("offset")
        self.offsets.append(offset)
        if offset is not None:
            self.queue = [u for u in self.queue if u["update_id"] >= int(offset)]
        self.polled.set()
        await asyncio.sleep(0)
        return 200, json.dumps({"ok": True, "result": self.queue}).encode()


async def test_the_offset_confirms_only_updates_whose_replies_are_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reload still building holds the offset at its update, while the question after it
    is answered; once the reload's reply is stored, the offset moves past both."""
    monkeypatch.setattr("bot.telegram.polling.BUSY_POLL_SECONDS", 0.001)
    reload_update = text_update("/reload", chat_id=ADMIN, from_id=ADMIN)
    question = text_update(QUESTION)
    first, second = reload_update["update_id"], question["update_id"]
    polls = ScriptedUpdates([reload_update, question])
    settings = make_settings(tmp_path)
    holder = KnowledgeHolder.load(settings.facts, settings.article, settings.matching)
    release = threading.Event()
    original = holder._build

    def held() -> Any:
        release.wait(30)
        return original()

    holder._build = held  # type: ignore[method-assign]
    async with open_harness(settings, holder, get_updates_request=polls) as h:
        recorder = Recorder(h.request)
        await h.app.start()
        lifecycle = Lifecycle()
        polling = asyncio.create_task(poll_updates(h.app, h.delivery, lifecycle, ["message"]))
        await recorder.event(USER).wait()  # the question is answered meanwhile...
        assert h.delivery.outbox.handled(second) and not h.delivery.outbox.handled(first)
        assert all(o is None or o <= first for o in polls.offsets)  # ...but not confirmed
        release.set()
        await recorder.event(ADMIN).wait()
        while not any(o == second + 1 for o in polls.offsets):
            polls.polled.clear()
            await polls.polled.wait()
        lifecycle.stop()
        await polling
        await h.app.stop()
    assert max(o for o in polls.offsets if o is not None) == second + 1
