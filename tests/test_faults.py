"""Bot API faults: every question that reached the bot is answered exactly once.

Part 1 is the retry policy of :class:`bot.telegram.retries.ResilientRequest`, call by call,
against an ``httpx.MockTransport``; and the error handler, which apologises for the bot's own
failures but not for the Bot API's.

Part 2 runs the real ``python -m bot run`` process against the fake Bot API
(``tests/fakes/bot_api.py``) with injected faults on sendMessage and getUpdates -- 5xx, 429
with ``retry_after``, dropped connections, bodies that are not JSON, slow answers and a
sendMessage that times out after the server got it. Counting what the server really
delivered per chat (one question per chat), each question gets exactly one answer, the
right one, and the bot keeps running and backs off. SIGTERM ends the bot within 5 seconds
also while a fault lasts -- retrying getUpdates, waiting out a flood wait, or with getUpdates
hanging -- and the questions it had not answered stay with Telegram: the next start answers
them, once. The token appears nowhere in the DEBUG logs of these runs.

The tests of part 2 run in file order on one fake API and three bot processes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fakes.bot_api import Call, FakeBotApi, Fault
from fakes.bot_process import BotProcess, bot_env, write_config
from fakes.harness import USER, make_settings, open_harness
from fakes.recording_request import BOT_USER
from telegram import Bot
from telegram.error import InvalidToken, NetworkError

from bot import texts
from bot.config import load_settings
from bot.engine import Engine
from bot.knowledge_load import load_knowledge
from bot.outbox import Outbox
from bot.render_html import render_html
from bot.replies import reply_to
from bot.telegram import retries
from bot.telegram.delivery import Delivery
from bot.telegram.keyboards import keyboard
from bot.telegram.lifecycle import Lifecycle

TOKEN = "123456789:AAE-test-SECRET-token"
STOP_LIMIT = 5.0

# --- part 1: the retry policy, call by call ----------------------------------------------------

Step = int | tuple[int, Any] | type[Exception] | Exception
"""What the mock server does: a status (with a body), or a transport error to raise."""


def ok(result: Any) -> tuple[int, Any]:
    return 200, {"ok": True, "result": result}


SENT = {"message_id": 1, "date": 0, "chat": {"id": USER, "type": "private"}, "text": "x"}
GONE = httpx.RemoteProtocolError("Server disconnected without sending a response.")


class Script:
    """A mock Bot API answering each call of a method with the next step of its script."""

    def __init__(self, **scripts: list[Step]) -> None:
        self.scripts = {method: list(steps) for method, steps in scripts.items()}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        self.calls.append((method, dict(request.extensions.get("timeout") or {})))
        if method == "getMe" and "getMe" not in self.scripts:
            step: Step = ok(BOT_USER)
        else:
            step = self.scripts[method].pop(0)
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("mock failure", request=request)  # type: ignore[call-arg]
        if isinstance(step, Exception):
            raise step
        status, body = step if isinstance(step, tuple) else (step, None)
        if body is None:
            body = {"ok": False, "error_code": status, "description": f"status {status}"}
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content)

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retries, "RETRY_FIRST_SECONDS", 0.001)


async def call(
    script: Script, action: Callable[[Bot], Any], lifecycle: Lifecycle | None = None
) -> Any:
    lifecycle = lifecycle or Lifecycle()
    requests = [
        retries.ResilientRequest(lifecycle, httpx_kwargs={"transport": httpx.MockTransport(script)})
        for _ in range(2)
    ]
    async with Bot(
        TOKEN,
        base_url="http://bot.api.test/bot",
        request=requests[0],
        get_updates_request=requests[1],
    ) as bot:
        return await action(bot)


def send(bot: Bot) -> Any:
    return bot.send_message(USER, "an answer")


def poll(bot: Bot) -> Any:
    return bot.get_updates(offset=5, timeout=0)


class Clock:
    """A fake wall clock and sleep: the outbox's backoffs take no time, and are recorded."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def deliver(
    script: Script, tmp_path: Path, clock: Clock | None = None, expiry: float = 3600
) -> tuple[Outbox, Clock]:
    """Store one reply and let the outbox deliver it through ``script``'s Bot API."""
    clock = clock or Clock()
    outbox = Outbox(tmp_path / "outbox.sqlite3", expiry, clock=clock)
    request = retries.ResilientRequest(
        Lifecycle(), httpx_kwargs={"transport": httpx.MockTransport(script)}
    )
    async with Bot(
        TOKEN, base_url="http://bot.api.test/bot", request=request, get_updates_request=request
    ) as bot:
        delivery = Delivery(outbox, sleep=clock.sleep)
        delivery.attach(SimpleNamespace(bot=bot))  # type: ignore[arg-type]
        delivery.reply(1, USER, {"text": "an answer"})
        await delivery.drain()
    return outbox, clock


@pytest.mark.parametrize(
    "steps",
    [
        [502, 502, ok(SENT)],  # the Bot API said it failed
        [500, 503, 504, ok(SENT)],
        [httpx.ConnectError, ok(SENT)],  # the request never left
        [httpx.ConnectTimeout, httpx.PoolTimeout, ok(SENT)],
        [httpx.WriteError, ok(SENT)],
        [GONE, ok(SENT)],  # closed without a word: not acted on
    ],
)
async def test_send_is_retried_when_the_bot_api_cannot_have_acted(
    steps: list[Step], tmp_path: Path
) -> None:
    script = Script(sendMessage=steps)
    outbox, clock = await deliver(script, tmp_path)
    assert script.count("sendMessage") == len(steps)
    assert outbox.counts() == {"sent": 1}
    assert clock.sleeps == [0.5 * 2**n for n in range(len(steps) - 1)]  # backing off


@pytest.mark.parametrize(
    "step",
    [
        httpx.ReadTimeout,  # the server has it and is slow: it may deliver it
        httpx.ReadError,  # reset while answering
        (200, b'{"ok": true, "result": '),  # done, body cut
    ],
)
async def test_send_is_never_retried_when_it_may_have_been_delivered(
    step: Step, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(sendMessage=[step, ok(SENT)])
    outbox, _ = await deliver(script, tmp_path)
    assert script.count("sendMessage") == 1
    assert outbox.counts() == {"uncertain": 1}
    assert any("may or may not have been delivered" in r.getMessage() for r in caplog.records)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own
async def test_a_flood_wait_is_waited_out_then_the_reply_sent(tmp_path: Path) -> None:
    script = Script(sendMessage=[(429, {"ok": False, "parameters": {"retry_after": 3}}), ok(SENT)])
    outbox, clock = await deliver(script, tmp_path)
    assert script.count("sendMessage") == 2 and outbox.counts() == {"sent": 1}
    assert clock.sleeps == [3.0]


async def test_a_reply_is_retried_until_it_expires_then_dropped_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(sendMessage=[502] * 100)
    outbox, clock = await deliver(script, tmp_path, expiry=3600)
    assert outbox.counts() == {"dropped": 1}
    assert 3600 < sum(clock.sleeps) < 3600 + 60  # retried for the whole hour, then dropped
    assert max(clock.sleeps) == 60.0  # capped backoff
    assert any("not delivered within 1 h" in r.getMessage() for r in caplog.records)


async def test_a_refused_message_becomes_an_apology_and_a_block_is_final(tmp_path: Path) -> None:
    script = Script(sendMessage=[(400, None), ok(SENT)])
    outbox, _ = await deliver(script, tmp_path / "refused")
    assert script.count("sendMessage") == 2 and outbox.counts() == {"sent": 1}
    script = Script(sendMessage=[(403, None), ok(SENT)])
    outbox, _ = await deliver(script, tmp_path / "blocked")
    assert script.count("sendMessage") == 1 and outbox.counts() == {"dropped": 1}


async def test_get_updates_retries_every_transient_failure() -> None:
    retry_now = (429, {"ok": False, "parameters": {"retry_after": 0}})
    conflict = (409, None)
    cut = (200, b'{"ok": true, "result": [')
    steps: list[Step] = [502, GONE, httpx.ReadError, cut, retry_now, conflict, ok([])]
    script = Script(getUpdates=steps)
    assert await call(script, poll) == ()
    assert script.count("getUpdates") == len(steps)


async def test_a_rejected_token_is_final_and_get_me_is_never_retried() -> None:
    script = Script(getUpdates=[(401, None), ok([])])
    with pytest.raises(InvalidToken):
        await call(script, poll)
    assert script.count("getUpdates") == 1
    # getMe is the start-up check: an unreachable Bot API fails the start at once
    script = Script(getMe=[httpx.ConnectError, ok(BOT_USER)])
    with pytest.raises(NetworkError):
        await call(script, poll)
    assert script.count("getMe") == 1


async def test_once_stopping_nothing_is_retried_and_timeouts_are_short() -> None:
    lifecycle = Lifecycle()
    lifecycle.stop()
    script = Script(sendMessage=[502, ok(SENT)], getUpdates=[502, ok([])])
    with pytest.raises(NetworkError):
        await call(script, send, lifecycle)
    with pytest.raises(NetworkError):
        await call(script, poll, lifecycle)
    assert script.count("sendMessage") == 1 and script.count("getUpdates") == 1
    timeouts = next(t for m, t in script.calls if m == "sendMessage")
    assert set(timeouts.values()) == {retries.STOPPING_TIMEOUT}


# --- part 1: who gets an apology ------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "delivered"),
    [(502, ["answer"]), (403, []), (400, [texts.ENGLISH.error])],
    ids=["bot-api-failure", "blocked", "message-refused"],
)
async def test_the_user_gets_the_answer_or_an_apology_once(
    tmp_path: Path, status: int, delivered: list[str]
) -> None:
    """A 5xx is retried; a blocked bot sends nothing; a refused message becomes an apology.
    Never both an answer and an apology."""
    clock = Clock()
    async with open_harness(make_settings(tmp_path), sleep=clock.sleep) as h:
        failed: list[int] = []

        def fail_the_answer(method: str, params: dict[str, Any]) -> tuple[int, str] | None:
            if method == "sendMessage" and not failed:
                failed.append(status)
                return status, f"failure {status}"
            return None

        h.request.error_rules.append(fail_the_answer)
        calls = await h.ask("Who met whom?")
    answer = render_html(reply_to(h.engine, "Who met whom?"))
    sent = [params["text"] for method, params in calls if method == "sendMessage"]
    assert sent[1:] == [answer if d == "answer" else d for d in delivered]


# --- part 2: the real bot against the fake Bot API --------------------------------------------

QUESTIONS = [
    "Who met whom?",
    "What was the trade turnover between Azerbaijan and Turkiye in 2021?",
    "What is the trade turnover target for 2023?",
    "What was the trade turnover between Azerbaijan and Russia?",
    "hello",
]


class Run:
    """The fake API, the config, the engine for expected answers, and the bot processes."""

    def __init__(self, folder: Path, api: FakeBotApi) -> None:
        self.folder = folder
        self.api = api
        self.config, _ = write_config(folder)
        settings = load_settings(self.config, env={})
        kb = load_knowledge(settings.facts, settings.article)
        self.engine = Engine.build(kb, settings.matching)
        self.processes: list[BotProcess] = []
        self.asked: dict[int, str] = {}

    def start(self) -> BotProcess:
        mark = self.api.mark()
        number = len(self.processes) + 1
        process = BotProcess(
            self.api,
            self.config,
            self.folder / f"stderr-{number}.log",
            bot_env(self.api, TOKEN),
        )
        self.processes.append(process)
        process.wait_polling(since=mark)
        return process

    @property
    def bot(self) -> BotProcess:
        return self.processes[-1]

    def ask(self, chat_id: int, question: str | None = None) -> None:
        question = question or QUESTIONS[chat_id % len(QUESTIONS)]
        self.asked[chat_id] = question
        self.api.push_message(question, user_id=chat_id)

    def expected(self, chat_id: int) -> dict[str, Any]:
        reply = reply_to(self.engine, self.asked[chat_id])
        markup = keyboard(reply.suggestions, reply.language)
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "text": render_html(reply),
            "parse_mode": "HTML",
        }
        if markup is not None:
            params["reply_markup"] = markup.to_dict()
        return params

    def wait_answered(self, chats: list[int], timeout: float = 30.0) -> None:
        def done(_: list[Call]) -> bool:
            return self.api.faults_left() == 0 and all(self.api.delivered(c) for c in chats)

        self.api.wait_for(done, timeout=timeout)
        time.sleep(0.7)  # room for a duplicate to show up

    def assert_answered_once(self, chats: list[int]) -> None:
        for chat_id in chats:
            assert self.api.delivered(chat_id) == [self.expected(chat_id)], chat_id


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    with FakeBotApi(TOKEN) as api:
        state = Run(tmp_path_factory.mktemp("faults"), api)
        state.start()
        try:
            yield state
        finally:
            for process in state.processes:
                process.kill()


def first_failure(api: FakeBotApi, mark: int) -> None:
    """End the long poll in progress and wait for a getUpdates that met an injected fault."""
    api.end_long_polls()
    api.wait_for(
        lambda _: any(c.fault is not None for c in api.calls_of("getUpdates", mark)), timeout=15
    )


def gaps(calls: list[Call]) -> list[float]:
    return [later.at - earlier.at for earlier, later in pairwise(calls)]


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_send_message_faults_lose_nothing_and_duplicate_nothing(run: Run) -> None:
    api, chats = run.api, list(range(7001, 7013))
    one, two, three, four = chats[:4]
    for fault in (
        Fault("status", "sendMessage", status=502, chat_id=one),  # retried...
        Fault("drop", "sendMessage", chat_id=one),  # ...retried again, later...
        Fault("retry_after", "sendMessage", seconds=1, chat_id=one),  # ...flood wait, then...
        Fault("malformed", "sendMessage", chat_id=one),  # ...delivered, answer cut: no retry
        Fault("delay", "sendMessage", seconds=1.0, chat_id=two),  # slow, in time
        Fault("delay", "sendMessage", seconds=6.0, chat_id=three),  # times out after delivery
        Fault("status", "sendMessage", status=503, chat_id=four),  # two 5xx, then delivered
        Fault("status", "sendMessage", status=500, chat_id=four),
    ):
        api.inject(fault)
    for chat_id in chats:
        run.ask(chat_id)
    run.wait_answered(chats)
    run.assert_answered_once(chats)
    assert run.bot.process.poll() is None  # still running
    first = [c for c in api.calls_of("sendMessage") if c.params["chat_id"] == one]
    assert [c.fault for c in first] == ["status", "drop", "retry_after", "malformed"]
    waits = gaps(first)
    assert waits[0] >= 0.5 and waits[1] >= 1.0 and waits[2] >= 1.0  # backoff, then retry_after
    third = [c for c in api.calls_of("sendMessage") if c.params["chat_id"] == three]
    assert [c.fault for c in third] == ["delay"]  # timed out, yet not sent again
    fourth = [c for c in api.calls_of("sendMessage") if c.params["chat_id"] == four]
    assert [c.fault for c in fourth] == ["status", "status", None]
    log = run.bot.stderr()
    assert f"(chat {one}) failed (Internal Server Error); retry 1 in 0.5 s" in log
    assert f"(chat {one}) failed" in log and "retry 2 in 1.0 s" in log
    assert "may or may not have been delivered" in log  # the cut answer and the timed-out one
    assert texts.ENGLISH.error not in json.dumps([c.params for c in api.calls_of("sendMessage")])


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_get_updates_faults_lose_nothing_and_duplicate_nothing(run: Run) -> None:
    api, chats = run.api, list(range(7101, 7111))
    mark = api.mark()
    for fault in (
        Fault("status", "getUpdates", status=502),
        Fault("drop", "getUpdates"),
        Fault("malformed", "getUpdates"),
        Fault("retry_after", "getUpdates", seconds=1),
        Fault("delay", "getUpdates", seconds=1.5),
    ):
        api.inject(fault)
    first_failure(api, mark)  # the poll in progress has ended, the next met a fault
    for chat_id in chats:
        run.ask(chat_id)
    run.wait_answered(chats)
    api.wait_for(lambda _: api.pending_updates() == 0, timeout=15)  # all confirmed
    run.assert_answered_once(chats)
    assert run.bot.process.poll() is None
    polls = api.calls_of("getUpdates", since=mark)
    faulty = [c for c in polls if c.fault is not None]
    assert [c.fault for c in faulty] == ["status", "drop", "malformed", "retry_after", "delay"]
    offsets = {c.params.get("offset") for c in faulty}
    assert len(offsets) == 1  # retried with the same offset: nothing skipped
    waits = gaps(faulty)
    assert waits[0] >= 0.5 and waits[1] >= 1.0 and waits[2] >= 2.0 and waits[3] >= 1.0


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_sigterm_while_get_updates_keeps_failing(run: Run) -> None:
    api = run.api
    api.inject(Fault("status", "getUpdates", status=502, times=10_000))
    mark = api.mark()
    first_failure(api, mark)
    for chat_id in (7201, 7202, 7203):
        run.ask(chat_id)  # they stay with "Telegram": getUpdates fails
    api.wait_for(lambda _: len(api.calls_of("getUpdates", since=mark)) >= 3, timeout=15)
    code, seconds = run.bot.terminate()
    assert code == 0 and seconds < STOP_LIMIT, seconds
    log = run.bot.stderr()
    assert "SIGTERM received" in log and log.rstrip().endswith("bot stopped")
    assert "exiting now" not in log  # stopped gracefully, the watchdog had nothing to do


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_questions_left_with_telegram_are_answered_once_after_a_restart(run: Run) -> None:
    run.api.clear_faults()
    run.start()
    chats = [7201, 7202, 7203]
    run.wait_answered(chats)
    run.assert_answered_once(chats)


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_sigterm_during_a_flood_wait_ends_within_the_limit(run: Run) -> None:
    api = run.api
    api.inject(Fault("retry_after", "sendMessage", seconds=30))
    run.ask(7301)
    api.wait_for(lambda calls: any(c.fault == "retry_after" for c in calls), timeout=15)
    time.sleep(0.3)
    code, seconds = run.bot.terminate()
    assert code == 0 and seconds < STOP_LIMIT, seconds
    log = run.bot.stderr()
    # The chat's flood wait holds only its sender, which a stop cancels: a clean stop, the
    # reply stays in the outbox (the update was confirmed once the reply was stored).
    assert "exiting now" not in log and "1 repl(ies) left in the outbox" in log
    assert not api.delivered(7301)
    run.api.clear_faults()
    run.start()  # the outbox is flushed at the start: answered once
    run.wait_answered([7301])
    run.assert_answered_once([7301])
    assert "repl(ies) from an earlier run to send" in run.bot.stderr()


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_sigterm_while_get_updates_hangs(run: Run) -> None:
    api = run.api
    api.inject(Fault("delay", "getUpdates", seconds=30, times=10_000))
    first_failure(api, api.mark())
    time.sleep(0.5)
    code, seconds = run.bot.terminate()
    assert code == 0 and seconds < STOP_LIMIT, seconds
    log = run.bot.stderr()
    assert log.rstrip().endswith("bot stopped") and "exiting now" not in log


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_no_question_was_answered_twice_and_the_token_was_never_logged(run: Run) -> None:
    delivered = [p["chat_id"] for p in run.api.delivered()]
    assert sorted(delivered) == sorted(run.asked)  # every question, once
    assert texts.ENGLISH.error not in json.dumps(run.api.delivered())  # no apologies
    for process in run.processes:
        assert process.process.poll() is not None
        log = process.stderr()
        assert " DEBUG " in log  # every level was on
        for secret in (TOKEN, TOKEN.split(":", 1)[1], TOKEN.replace(":", "%3A")):
            assert secret not in log
