"""Load test: simulated users asking the real bot process through a fake Bot API.

    python -m benchmarks.load [--users 200] [--questions 20] [--think 0] [--seed 1]

Starts the fake Bot API of ``tests/fakes/bot_api.py`` in this process (127.0.0.1, a free
port) and the real bot as a subprocess, ``python -m bot run`` in polling mode, with a
temporary config: the repository's knowledge files and matcher settings, but the per-user
flood control raised to 1,000 questions per 60 s (the shipped 20 per 60 s would, rightly,
stop a simulated user who asks 20 questions back to back). Each simulated user has a private
chat and asks ``--questions`` questions drawn (seeded) from ``tests/data/questions.yaml``,
one at a time: the next question goes in when the answer to the last has arrived, after
``--think`` seconds (0: at once, a closed loop that keeps the bot saturated).

Reported: throughput (questions answered per second, first question to last answer),
reply latency p50/p99/max (from the update being made available to getUpdates to the
sendMessage that answers it arriving at the fake), the bot process's peak resident memory
(``VmHWM``), and the count of replies -- every question must get exactly one, and it must be
the reply the same code gives in-process. The bot keeps PTB's ``AIORateLimiter``, which holds
sending to Telegram's ~30 messages per second: with enough users, that is the ceiling.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from benchmarks.common import (
    DEFAULT_QUESTIONS,
    ROOT,
    cpu_name,
    load_project,
    load_questions,
    percentile,
)

sys.path.insert(0, str(ROOT / "tests"))

from fakes.bot_api import FakeBotApi, Fault  # tests/ is on the path only now
from fakes.bot_process import BotProcess, clean_env, write_config
from fakes.recording_request import BOT_USERNAME

from bot import texts
from bot.cards import help_card, source_card, start_card, topics_card
from bot.conversation import Conversations
from bot.engine import Engine
from bot.render_html import card_html, render_html
from bot.telegram.filters import strip_mention

TOKEN = "123456789:AAE-load-test-token"
FIRST_USER = 100_000
FLOOD_LIMIT = 1000
"""Questions per user per 60 s in the temporary config (the shipped config: 20)."""


class LoadApi(FakeBotApi):
    """The fake Bot API, telling the driver about every message it delivers."""

    def __init__(self, token: str, on_sent: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(token)
        self.on_sent = on_sent

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        result = super()._send_message(params)
        self.on_sent(params)
        return result


@dataclass
class User:
    questions: list[str]
    asked: int = 0
    pushed_at: float = 0.0
    replies: list[str] = field(default_factory=list)


class Driver:
    """Closed-loop users: each asks its next question once its last one is answered."""

    def __init__(self, users: dict[int, User], think: float, seed: int) -> None:
        self.users = users
        self.think = think
        self.random = random.Random(seed)
        self.latencies: list[float] = []
        self.answered = 0
        self.extra = 0
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.api: LoadApi | None = None
        self.first_push = 0.0
        self.last_answer = 0.0
        self.total = sum(len(u.questions) for u in users.values())

    def push(self, chat_id: int) -> None:
        assert self.api is not None
        user = self.users[chat_id]
        with self.lock:
            question = user.questions[user.asked]
            user.asked += 1
            user.pushed_at = time.perf_counter()
        self.api.push_message(question, user_id=chat_id)

    def later(self, chat_id: int) -> None:
        if self.think <= 0:
            self.push(chat_id)
        else:
            delay = self.random.uniform(0.5 * self.think, 1.5 * self.think)
            timer = threading.Timer(delay, self.push, args=(chat_id,))
            timer.daemon = True
            timer.start()

    def on_sent(self, params: dict[str, Any]) -> None:
        now = time.perf_counter()
        chat_id = int(params["chat_id"])
        user = self.users.get(chat_id)
        if user is None:
            return
        with self.lock:
            user.replies.append(str(params.get("text", "")))
            if len(user.replies) > user.asked:
                self.extra += 1  # a second reply to the same question
                return
            self.latencies.append(now - user.pushed_at)
            self.answered += 1
            self.last_answer = now
            more = user.asked < len(user.questions)
            if self.answered == self.total:
                self.done.set()
        if more:
            self.later(chat_id)

    def start(self) -> None:
        self.first_push = time.perf_counter()
        for chat_id in self.users:
            if self.think <= 0:
                self.push(chat_id)
            else:  # spread the first questions over one think time
                self.later(chat_id)


def expected_replies(engine: Engine, texts_sent: list[str]) -> list[str]:
    """What the bot says to one private chat's messages, in order: a command's card, or the
    answer, read as the bot reads it (a follow-up leans on the chat's previous question)."""
    conversations = Conversations(3600.0)
    out = []
    for text in texts_sent:
        if text.startswith("/"):
            command = text.split()[0][1:].split("@")[0].lower()
            cards = {"start": start_card, "topics": topics_card, "source": source_card}
            out.append(card_html(cards.get(command, help_card)(engine)))  # unknown: /help
            continue
        question = strip_mention(text, BOT_USERNAME)
        if not question:
            out.append(card_html(start_card(engine)))
            continue
        out.append(render_html(conversations.respond(engine, "chat", question, float(len(out)))))
    return out


def peak_rss(pid: int) -> int:
    """The process's peak resident set size in bytes (Linux VmHWM), else the current RSS."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(psutil.Process(pid).memory_info().rss)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        choices=("load", "flood", "reload", "faults"),
        default="load",
        help="load: many users; flood/reload: private latency while a group floods or an "
        "admin reloads; faults: questions lost/duplicated under each Bot API fault",
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--questions", type=int, default=20, help="questions per user")
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds between questions")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.scenario in ("flood", "reload"):
        return run_isolation(args)
    if args.scenario == "faults":
        return run_faults(args)

    # the shipped config on a snapshot of the knowledge files, the flood control raised
    folder = Path(tempfile.mkdtemp(prefix="bot-load-"))
    config, _ = write_config(folder, FLOOD_LIMIT)
    engine, _, users = _engine_and_users(config, args)
    driver = Driver(users, args.think, args.seed)
    api = LoadApi(TOKEN, driver.on_sent)
    driver.api = api
    rss_samples: list[int] = []
    with api:
        env = clean_env(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_BASE_URL": api.base_url,
                "PYTHONPATH": str(ROOT),
            }
        )
        bot = BotProcess(api, config, folder / "bot.log", env)
        try:
            bot.wait_polling(timeout=60)
            pid = bot.process.pid
            process = psutil.Process(pid)
            driver.start()
            deadline = time.monotonic() + args.timeout
            while not driver.done.wait(0.2):
                rss_samples.append(int(process.memory_info().rss))
                if time.monotonic() > deadline or bot.process.poll() is not None:
                    break
            time.sleep(2.0)  # room for late duplicates
            peak = max(peak_rss(pid), *rss_samples) if rss_samples else peak_rss(pid)
            code, stop_seconds = bot.terminate(timeout=30)
        finally:
            bot.kill()

    # every reply is the one the same code gives in-process
    wrong = missing = apologies = limited = 0
    differences = []
    for user in users.values():
        missing += max(0, len(user.questions) - len(user.replies))
        expected_all = expected_replies(engine, user.questions)
        for question, reply, expected in zip(
            user.questions, user.replies, expected_all, strict=False
        ):
            if reply == texts.ERROR:
                apologies += 1
            elif reply == texts.RATE_LIMITED:
                limited += 1
            elif reply != expected:
                wrong += 1
                differences.append(f"{question!r}\n  bot:      {reply!r}\n  expected: {expected!r}")
    if differences:
        (folder / "differences.txt").write_text("\n".join(differences), encoding="utf-8")
        print(f"{wrong} replies differ; see {folder / 'differences.txt'}", file=sys.stderr)
        args.keep = True
    answered = driver.answered
    seconds = driver.last_answer - driver.first_push
    total = driver.total
    lat = driver.latencies
    ok = answered == total and not (driver.extra or missing or wrong or apologies or limited)
    log_text = (folder / "bot.log").read_text(encoding="utf-8", errors="replace")

    command = (
        f"python -m benchmarks.load --users {args.users} --questions {args.questions} "
        f"--think {args.think:g} --seed {args.seed}"
    )
    print(f"Load test: `{command}`\n")
    print("| measure | value |")
    print("| --- | --- |")
    print(
        f"| users x questions | {args.users} x {args.questions} = {total:,} "
        f"(from tests/data/questions.yaml, seed {args.seed}) |"
    )
    pace = (
        "closed loop: the next question as soon as the answer arrives"
        if args.think <= 0
        else f"closed loop, about {args.think:g} s of thinking between answer and question"
    )
    print(f"| pace | {pace} |")
    print(
        f"| throughput | {answered / seconds:.1f} questions/s ({answered:,} in {seconds:.1f} s) |"
    )
    print(
        f"| reply latency | p50 {percentile(lat, 50) * 1000:.0f} ms, "
        f"p99 {percentile(lat, 99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms |"
    )
    print(f"| peak RSS of the bot process | {peak / 2**20:.1f} MiB |")
    print(
        f"| replies | {answered:,} of {total:,} questions answered; {driver.extra} extra, "
        f"{missing} missing, {wrong} different from the in-process reply, {apologies} apologies, "
        f"{limited} flood-control notes |"
    )
    print(f"| SIGTERM | exit {code} after {stop_seconds:.2f} s |")
    print(
        f"| setup | bot: `python -m bot run` (polling), fake Bot API in the load process, "
        f"both on 127.0.0.1; {cpu_name()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()} |"
    )
    print(
        "\nTemporary config: config/bot.yaml on a copy of the knowledge files, and "
        f"`telegram.rate_limit: {{questions: {FLOOD_LIMIT}, per_seconds: 60}}`."
    )
    if "Traceback" in log_text:
        print("\nThe bot's log has a traceback:", folder / "bot.log", file=sys.stderr)
    if args.keep:
        print(f"\nFiles kept in {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok and code == 0 else 1


# --------------------------------------------------------------------------------------------
# Isolation: a private chat's latency while one group floods the bot, or an admin reloads

GROUP = -100_555_000
ADMIN = 4242
FLOOD_PER_SECOND = 50.0
"""Mentions per second the flooding group sends (Telegram lets the bot answer 20 a minute)."""


def setup_line() -> str:
    return (
        f"`python -m bot run` (polling) against the fake Bot API, both on 127.0.0.1; "
        f"{cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}"
    )


def _engine_and_users(
    config: Path, args: argparse.Namespace
) -> tuple[Engine, list[str], dict[int, User]]:
    """The engine of ``config`` (to check every reply), the evaluation set's questions, and
    the private users with their questions drawn from it by ``--seed``."""
    kb, matching = load_project(config)
    engine = Engine.build(kb, matching)
    pool = [case.question for case in load_questions(DEFAULT_QUESTIONS, kb)]
    rng = random.Random(args.seed)
    users = {
        FIRST_USER + i: User([rng.choice(pool) for _ in range(args.questions)])
        for i in range(args.users)
    }
    return engine, pool, users


def run_isolation(args: argparse.Namespace) -> int:
    """Private users ask in a closed loop while a group floods, or an admin reloads nonstop."""
    folder = Path(tempfile.mkdtemp(prefix="bot-isolation-"))
    config, _ = write_config(folder, FLOOD_LIMIT)
    engine, pool, users = _engine_and_users(config, args)
    think = args.think if args.think > 0 else 0.2
    driver = Driver(users, think, args.seed)
    admin_replies = threading.Semaphore(0)
    group_replies = [0]

    def on_sent(params: dict[str, Any]) -> None:
        chat_id = int(params["chat_id"])
        if chat_id == ADMIN:
            admin_replies.release()
        elif chat_id == GROUP:
            group_replies[0] += 1
        else:
            driver.on_sent(params)

    api = LoadApi(TOKEN, on_sent)
    driver.api = api
    stop = threading.Event()
    background = [0]

    def flood() -> None:
        n = 0
        while not stop.wait(1 / FLOOD_PER_SECOND):
            api.push_message(
                f"@{BOT_USERNAME} {pool[n % len(pool)]}", user_id=7_000_000 + n % 500, chat_id=GROUP
            )
            n += 1
            background[0] = n

    def reload() -> None:
        while not stop.is_set():
            api.push_message("/reload", user_id=ADMIN)
            while not admin_replies.acquire(timeout=0.2):
                if stop.is_set():
                    return
            background[0] += 1

    with api:
        env = clean_env(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_BASE_URL": api.base_url,
                "PYTHONPATH": str(ROOT),
                "BOT_ADMINS": str(ADMIN),
            }
        )
        bot = BotProcess(api, config, folder / "bot.log", env)
        try:
            bot.wait_polling(timeout=60)
            worker = threading.Thread(target=flood if args.scenario == "flood" else reload)
            worker.daemon = True
            worker.start()
            time.sleep(1.0)  # the flood / the reloads are under way
            driver.start()
            driver.done.wait(args.timeout)
            stop.set()
            worker.join(5)
            time.sleep(1.0)
            code, stop_seconds = bot.terminate(timeout=30)
        finally:
            bot.kill()
    wrong = sum(
        reply != expected
        for user in users.values()
        for reply, expected in zip(
            user.replies, expected_replies(engine, user.questions), strict=False
        )
    )
    lat = driver.latencies
    what = (
        f"one group sending {FLOOD_PER_SECOND:g} mentions/s ({background[0]} in all; "
        f"{group_replies[0]} group replies sent, Telegram's 20/min)"
        if args.scenario == "flood"
        else f"an admin sending /reload again as soon as it is answered ({background[0]} reloads)"
    )
    command = (
        f"python -m benchmarks.load --scenario {args.scenario} --users {args.users} "
        f"--questions {args.questions} --think {think:g} --seed {args.seed}"
    )
    print(f"`{command}`\n")
    print("| while | private replies | p50 | p99 | max | wrong / extra |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| {what} | {driver.answered} of {driver.total} | "
        f"{percentile(lat, 50) * 1000:.0f} ms | {percentile(lat, 99) * 1000:.0f} ms | "
        f"{max(lat, default=0) * 1000:.0f} ms | {wrong} / {driver.extra} |"
    )
    print(f"\nSIGTERM: exit {code} after {stop_seconds:.2f} s. Setup: {setup_line()}.")
    shutil.rmtree(folder, ignore_errors=True)
    ok = driver.answered == driver.total and not wrong and not driver.extra
    return 0 if ok and code == 0 else 1


# --------------------------------------------------------------------------------------------
# Faults: questions lost and duplicated under each Bot API fault (and stops, and a crash)


@dataclass
class FaultCase:
    name: str
    faults: Callable[[list[int]], list[Fault]]
    stop: str | None = None
    """None: no stop; "term": SIGTERM once sending has started, then a restart; "kill": SIGKILL."""
    broken_update: bool = False


FAULT_CASES = (
    FaultCase(
        "sendMessage 5xx five times in a row",
        lambda chats: [
            Fault("status", "sendMessage", status=502, times=5, chat_id=c) for c in chats
        ],
    ),
    FaultCase(
        "sendMessage 429 (retry_after 1 s) four times",
        lambda chats: [
            Fault("retry_after", "sendMessage", seconds=1, times=4, chat_id=c) for c in chats
        ],
    ),
    FaultCase(
        "sendMessage connection dropped three times",
        lambda chats: [Fault("drop", "sendMessage", times=3, chat_id=c) for c in chats],
    ),
    FaultCase(
        "sendMessage carried out, response cut",
        lambda chats: [Fault("malformed", "sendMessage", chat_id=c) for c in chats],
    ),
    FaultCase(
        "sendMessage carried out after the 5 s read timeout",
        lambda chats: [Fault("delay", "sendMessage", seconds=6.0, chat_id=c) for c in chats],
    ),
    FaultCase(
        "getUpdates 5xx, 429, dropped, garbled",
        lambda chats: [
            Fault("status", "getUpdates", status=502, times=2),
            Fault("retry_after", "getUpdates", seconds=1),
            Fault("drop", "getUpdates"),
            Fault("malformed", "getUpdates"),
        ],
    ),
    FaultCase("a malformed update among the questions", lambda chats: [], broken_update=True),
    FaultCase(
        "SIGTERM while every send takes 1 s, then a restart",
        lambda chats: [Fault("delay", "sendMessage", seconds=1.0, times=10_000)],
        stop="term",
    ),
    FaultCase(
        "SIGTERM while every send takes 8 s (longer than a stop may wait), then a restart",
        lambda chats: [Fault("delay", "sendMessage", seconds=8.0, times=10_000)],
        stop="term",
    ),
    FaultCase(
        "SIGKILL (crash) while every send takes 3 s, then a restart",
        lambda chats: [Fault("delay", "sendMessage", seconds=3.0, times=10_000)],
        stop="kill",
    ),
)


def run_faults(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bot-faults-"))
    config, _ = write_config(folder, FLOOD_LIMIT)
    kb, _ = load_project(config)
    pool = [case.question for case in load_questions(DEFAULT_QUESTIONS, kb)]
    api = FakeBotApi(TOKEN)
    env = clean_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": "", "PYTHONPATH": str(ROOT)})
    rows: list[tuple[str, int, int, int, str]] = []
    failed = False
    with api:
        env["TELEGRAM_BASE_URL"] = api.base_url
        runs = [0]

        def start() -> BotProcess:
            runs[0] += 1
            mark = api.mark()
            process = BotProcess(api, config, folder / f"bot-{runs[0]}.log", env)
            process.wait_polling(since=mark, timeout=60)
            return process

        bot = start()
        first_chat = 300_000
        logged_before = 0
        for case in FAULT_CASES:
            chats = list(range(first_chat, first_chat + args.users))
            first_chat += args.users
            for fault in case.faults(chats):
                api.inject(fault)
            for n, chat in enumerate(chats):
                if case.broken_update and n == len(chats) // 2:
                    api.push_update("message", {"message_id": 1, "text": "no chat, no date"})
                api.push_message(pool[n % len(pool)], user_id=chat)
            note = ""
            if case.stop is not None:
                mine = set(chats)
                api.wait_for(
                    lambda calls, mine=mine: any(
                        c.method == "sendMessage" and c.params.get("chat_id") in mine for c in calls
                    )
                )
                time.sleep(0.5)
                if case.stop == "term":
                    code, seconds = bot.terminate(timeout=30)
                    note = f"exit {code} after {seconds:.1f} s; "
                else:
                    bot.kill()
                api.clear_faults()
                bot = start()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(api.delivered(c) for c in chats):
                time.sleep(0.1)
            # room for duplicates: a send cut off by a stop may still land (the fake API
            # carries out a delayed call after its delay, as Telegram would)
            time.sleep(9.0 if case.stop else 1.5)
            api.clear_faults()
            counts = [len(api.delivered(c)) for c in chats]
            lost = sum(1 for n in counts if n == 0)
            duplicated = sum(1 for n in counts if n > 1)
            log = "".join(
                (folder / f"bot-{r}.log").read_text(encoding="utf-8", errors="replace")
                for r in range(1, runs[0] + 1)
            )
            logged = log.count("may get it twice") - logged_before
            logged_before += logged
            if duplicated:
                note += f"{logged} logged as possibly duplicated"
            rows.append((case.name, len(chats), lost, duplicated, note.rstrip("; ")))
            failed |= lost > 0 or (duplicated > logged)
        code, _ = bot.terminate(timeout=30)
    command = f"python -m benchmarks.load --scenario faults --users {args.users} --seed {args.seed}"
    print(f"`{command}`\n")
    print("| fault | questions | lost | duplicated | note |")
    print("| --- | --- | --- | --- | --- |")
    for name, asked, lost, duplicated, note in rows:
        print(f"| {name} | {asked} | {lost} | {duplicated} | {note} |")
    print(f"\nSetup: {setup_line()}.")
    shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
