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

from fakes.bot_api import FakeBotApi  # tests/ is on the path only now
from fakes.bot_process import BotProcess, clean_env, write_config
from fakes.recording_request import BOT_USERNAME

from bot import texts
from bot.replies import (
    Engine,
    help_card,
    render_html,
    reply_to,
    source_card,
    start_card,
    topics_card,
)
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


def expected_reply(engine: Engine, text: str) -> str:
    """What the bot says to ``text`` in a private chat: a command's card, or the answer."""
    if text.startswith("/"):
        command = text.split()[0][1:].split("@")[0].lower()
        cards = {"start": start_card, "topics": topics_card, "source": source_card}
        return cards.get(command, help_card)(engine).html()  # unknown commands: /help
    question = strip_mention(text, BOT_USERNAME)
    return render_html(reply_to(engine, question)) if question else start_card(engine).html()


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
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--questions", type=int, default=20, help="questions per user")
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds between questions")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    # the shipped config on a snapshot of the knowledge files, the flood control raised
    folder = Path(tempfile.mkdtemp(prefix="bot-load-"))
    config, _ = write_config(folder, FLOOD_LIMIT)
    kb, matching = load_project(config)
    engine = Engine.build(kb, matching)
    pool = [case.question for case in load_questions(DEFAULT_QUESTIONS, kb)]
    rng = random.Random(args.seed)
    users = {
        FIRST_USER + i: User([rng.choice(pool) for _ in range(args.questions)])
        for i in range(args.users)
    }
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
        for question, reply in zip(user.questions, user.replies, strict=False):
            expected = expected_reply(engine, question)
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


if __name__ == "__main__":
    sys.exit(main())
