"""1,000 questions in flight while the knowledge base is reloaded 20 times.

Two valid versions of a small knowledge base answer the probe questions differently:
version B rewrites the answer of ``meeting_participants``, gives it another sentence of the
article as its quote, and has two facts more (so suggestions differ too). 1,000 questions
(``Application.process_update``, up to 256 handled at once, every Bot API call taking a
random 0-1.5 s, so that hundreds wait on the network at the same moment) run together with
20 admin /reload commands. The
holder's build is instrumented: build *i* writes version A or B to disk first, so the
versions alternate whatever order the reloads run in, and it records how many builds run at
the same time.

Shown: no exception and no apology; every reply is, byte for byte, the reply version A or
version B gives to that question -- its answer, quote, source line and suggestion buttons
come from one version; both versions were served while the questions were in flight; the
20 reloads ran one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.harness import (
    ADMIN,
    ROOT,
    make_settings,
    open_harness,
    text_update,
)
from fakes.recording_request import RecordingRequest
from telegram import Update
from telegram.ext import AIORateLimiter

from bot.engine import Engine
from bot.knowledge_load import load_knowledge
from bot.reloading import KnowledgeHolder
from bot.render_html import render_html
from bot.replies import reply_to
from bot.telegram.keyboards import keyboard
from bot.telegram.state import TelegramApp

QUESTIONS = 1000
RELOADS = 20
PROBES = (
    "Who met whom?",
    "What was the trade turnover between Azerbaijan and Turkiye in 2021?",
    "What was the trade turnover between Azerbaijan and Russia?",  # suggestions, no answer
    "hello",
    "who is the president of france",
)
PROBE_FACT = "meeting_participants"
FIRST_USER = 10_000


class YieldingRequest(RecordingRequest):
    """Records like RecordingRequest, but every call takes a random 0-1.5 s; counts the
    calls in flight."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.random = random.Random(seed)
        self.in_flight = self.most_in_flight = 0

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.random.uniform(0, 1.5))
            return await super().do_request(*args, **kwargs)
        finally:
            self.in_flight -= 1


def versions(folder: Path) -> tuple[str, str]:
    """The YAML of versions A and B: a dozen of the real facts, a few phrasings each."""
    data = yaml.load(  # the C safe loader, for speed
        (ROOT / "knowledge" / "facts.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader
    )
    facts = {f["id"]: f for f in data["facts"]}
    assert PROBE_FACT in facts and "trade_turnover_2021" in facts
    chosen = [PROBE_FACT, "trade_turnover_2021"]
    chosen += [i for i in facts if i not in chosen][:10]
    small = [dict(facts[i], questions=facts[i]["questions"][:8]) for i in chosen]
    a = dict(data, facts=small[:10], examples=chosen[:3])
    b_facts = [dict(f) for f in small]
    probe = b_facts[0]
    probe["answer"] = "VERSION B: " + probe["answer"][:150]
    probe["answers"] = {}
    probe["quote"] = facts["trade_turnover_2021"]["quote"]
    b = dict(data, facts=b_facts, examples=chosen[:3])
    return tuple(  # type: ignore[return-value]
        yaml.dump(v, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False) for v in (a, b)
    )


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def payload(params: dict[str, Any]) -> tuple[str, Any]:
    return params["text"], params.get("reply_markup")


@pytest.mark.slow  # about 20 s: every Bot API call takes up to 1.5 s
async def test_questions_in_flight_during_20_reloads_each_get_one_whole_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    version_a, version_b = versions(tmp_path)
    write_atomically(settings.facts, version_a)
    engines: dict[str, Engine] = {}
    for name, text in (("A", version_a), ("B", version_b)):
        write_atomically(settings.facts, text)
        kb = load_knowledge(settings.facts, settings.article)
        engines[name] = Engine.build(kb, settings.matching)
    write_atomically(settings.facts, version_a)
    holder = KnowledgeHolder(engines["A"], settings.facts, settings.article, settings.matching)

    # instrument the holder: build i writes version A or B first; count builds at once
    lock, active, most, builds = threading.Lock(), [0], [0], [0]
    original = holder._build

    def build() -> Engine:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
            number = builds[0]
            builds[0] += 1
        try:
            write_atomically(settings.facts, version_b if number % 2 == 0 else version_a)
            time.sleep(0.01)  # widen the window in which a second build could start
            return original()
        finally:
            with lock:
                active[0] -= 1

    holder._build = build  # type: ignore[method-assign]

    # what each version says to each probe: the whole sendMessage payload
    expected: dict[str, dict[str, tuple[str, Any]]] = {}
    for name, engine in engines.items():
        expected[name] = {}
        for question in PROBES:
            reply = reply_to(engine, question)
            markup = keyboard(reply.suggestions, reply.language)
            expected[name][question] = (
                render_html(reply),
                markup.to_dict() if markup is not None else None,
            )
    assert expected["A"][PROBES[0]] != expected["B"][PROBES[0]]
    assert "VERSION B" in expected["B"][PROBES[0]][0]

    request = YieldingRequest(seed=20_240_707)
    no_limits = AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=0)
    caplog.set_level(logging.WARNING)
    async with open_harness(settings, holder, request=request, rate_limiter=no_limits) as h:
        asked: dict[int, str] = {}
        updates = []
        for n in range(QUESTIONS):
            user = FIRST_USER + n
            asked[user] = PROBES[n % len(PROBES)]
            updates.append(text_update(asked[user], chat_id=user, from_id=user))
        reloads = [text_update("/reload", chat_id=ADMIN, from_id=ADMIN) for _ in range(RELOADS)]
        # Questions go in a few at a time while the reloads run (a question is answered from
        # the engine of the moment its handler starts, so questions submitted all at once
        # would all start before the first build ends); the reloads are spread among them
        # and queue up on the holder's lock.
        tasks: list[asyncio.Task[None]] = []
        for i, data in enumerate(updates):
            if i % (QUESTIONS // RELOADS) == 0:
                tasks.append(asyncio.create_task(_process(h.app, reloads.pop())))
            tasks.append(asyncio.create_task(_process(h.app, data)))
            if i % 10 == 9:
                await asyncio.sleep(0.004)
        assert not reloads
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await h.delivery.drain()  # the replies are stored; let the outbox send them all

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    sent = request.sent("sendMessage")
    admin = [p for p in sent if p["chat_id"] == ADMIN]
    assert len(admin) == RELOADS
    assert all(p["text"].startswith("Reloaded facts.yaml") for p in admin), admin[0]
    answers = [p for p in sent if p["chat_id"] != ADMIN]
    assert sorted(p["chat_id"] for p in answers) == sorted(asked)  # one reply per question
    served = {"A": 0, "B": 0}
    for params in answers:
        question = asked[params["chat_id"]]
        matches = [v for v in ("A", "B") if expected[v][question] == payload(params)]
        assert matches, f"a reply to {question!r} from neither version: {params['text'][:200]!r}"
        if question == PROBES[0]:
            served[matches[0]] += 1
    assert served["A"] > 0 and served["B"] > 0, served  # the swaps happened mid-flight
    assert builds[0] == RELOADS and most[0] == 1  # the reloads never overlapped
    assert holder.version == 1 + RELOADS
    assert request.most_in_flight >= 100  # a crowd of questions waited on the network at once


async def _process(app: TelegramApp, data: dict[str, Any]) -> None:
    await app.process_update(Update.de_json(data, app.bot))
