"""Every broken knowledge file is refused with its own message wherever it can come in.

The corpus is ``tests/data/broken/`` (its expected messages are the table of
``tests/test_knowledge.py``) plus a file of tens of megabytes written here. Each one is
refused

(a) by ``python -m bot check FILE``: exit 1, the message on stderr, no traceback;
(b) at start, by ``python -m bot run`` with a config pointing at it, a dummy token and the
    base URL of a 127.0.0.1 port nothing listens on: a non-zero exit and one clear message,
    before any network use (had the bot gone to the network, the message would be "cannot
    reach the Telegram Bot API");
(c) by an admin's ``/reload`` through ``Application.process_update``: the reply carries the
    message, and the old knowledge base keeps answering.

The runs of (a) and (b) happen once per module; each parametrized test then checks its own
result. Per command, a few cases (REAL) run as ``python -m bot`` processes of their own and
the others in one batch process (``fakes.cli_batch``: ``bot.cli.main`` once per file); the
REAL cases run in the batch too, and must say there exactly what their own processes said.
"""

from __future__ import annotations

import html
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from fakes.bot_process import free_port, run_bot
from fakes.cli_batch import run_batch
from fakes.harness import ADMIN, USER, make_settings, open_harness
from test_knowledge import BROKEN, EXPECTED

from bot.config import Settings
from bot.engine import Engine
from bot.knowledge_checks import (
    MAX_ANSWER_CHARS,
    MAX_FACTS,
    MAX_LABEL_CHARS,
    MAX_LEXICON_FILES,
    MAX_PHRASING_CHARS,
    MAX_QUESTIONS_PER_FACT,
    MAX_QUOTE_CHARS,
    MAX_YAML_NODES,
)
from bot.knowledge_load import MAX_ARTICLE_BYTES, MAX_FILE_BYTES
from bot.reloading import KnowledgeHolder
from bot.render_html import render_html
from bot.replies import reply_to

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "knowledge" / "article.txt"
HUGE = "huge.yaml"
"""The name the tens-of-megabytes file goes by in the parametrization."""
CASES = [*sorted(EXPECTED), HUGE]
CLEAR_QUESTION = "Who met whom?"
REAL = (HUGE, "alias_bomb.yaml", "utf8_bom.yaml")
"""The cases also run as processes of their own."""


def _expected(name: str) -> tuple[str, int | None]:
    if name == HUGE:
        return f"the limit is {MAX_FILE_BYTES:,} bytes", None
    return EXPECTED[name]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("broken")


@pytest.fixture(scope="module")
def paths(folder: Path) -> dict[str, Path]:
    """Every case's file; the huge one is written here (a valid start, then 20 MiB more)."""
    huge = folder / HUGE
    line = b"      - Who met whom, and what did they discuss at the online meeting?\n"
    with huge.open("wb") as handle:
        handle.write(b"facts:\n  - id: meeting_participants\n    questions:\n")
        for _ in range(20):
            handle.write(line * (1_048_576 // len(line)))
    assert huge.stat().st_size > 20 * 1_000_000
    return {name: (huge if name == HUGE else BROKEN / name) for name in CASES}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "PYTHON"))}
    env.update({"PYTHONPATH": str(ROOT), "PYTHONUTF8": "1", **extra})
    return env


def _run_all(
    commands: dict[str, list[str]], env: dict[str, str]
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every command in one batch process, and the REAL ones (at the same time) as processes
    of their own: their results, which the batch must match."""

    def one(command: list[str]) -> subprocess.CompletedProcess[str]:
        return run_bot(*command, env=env, timeout=120)

    with ThreadPoolExecutor(len(REAL)) as pool:
        real = dict(zip(REAL, pool.map(one, [commands[name] for name in REAL]), strict=True))
        batch = dict(zip(commands, run_batch(list(commands.values()), env, 300), strict=True))
    for name, done in real.items():
        seen = batch[name]
        assert (seen.returncode, seen.stdout, seen.stderr) == (
            done.returncode,
            done.stdout,
            done.stderr,
        ), f"{name}: the batch process and python -m bot differ"
    return batch | real


@pytest.fixture(scope="module")
def checked(paths: dict[str, Path]) -> dict[str, subprocess.CompletedProcess[str]]:
    """``python -m bot check FILE`` for every case."""
    return _run_all({name: ["check", str(path)] for name, path in paths.items()}, _env())


@pytest.fixture(scope="module")
def started(paths: dict[str, Path], folder: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """``python -m bot run`` with a config pointing at each case, a dummy token, no server."""
    commands = {}
    for name, path in paths.items():
        config = folder / f"{name}.bot.yaml"
        knowledge = {"facts": str(path), "article": str(ARTICLE)}
        config.write_text(yaml.safe_dump({"knowledge": knowledge}), encoding="utf-8")
        commands[name] = ["run", "--config", str(config)]
    env = _env(
        TELEGRAM_BOT_TOKEN="123456789:AAE-dummy-SECRET-token",
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{free_port()}/bot",
        BOT_LOG_LEVEL="DEBUG",
    )
    return _run_all(commands, env)


@pytest.mark.slow  # a subprocess per broken file; the in-process cases below stay fast
@pytest.mark.parametrize("name", CASES)
def test_check_refuses_the_file(
    name: str, paths: dict[str, Path], checked: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    done, path = checked[name], paths[name]
    message, line = _expected(name)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    problems = done.stderr.splitlines()
    assert problems[-1] == f"{path}: {len(problems) - 1} problem(s); not loaded"
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert any(p.startswith(where) and message in p for p in problems[:-1]), done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_run_refuses_to_start_before_any_network_use(
    name: str, paths: dict[str, Path], started: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    done, path = started[name], paths[name]
    message, line = _expected(name)
    assert done.returncode != 0
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    # one message: a heading line, then the problems, each naming the file
    heading, *problems = done.stderr.splitlines()
    assert heading == "error: knowledge base error:"
    assert problems and all(p.startswith(f"{path}") for p in problems), done.stderr
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert any(p.startswith(where) and message in p for p in problems), done.stderr
    # refused before the Bot API was contacted, or before logging even started
    assert "cannot reach" not in done.stderr and " DEBUG " not in done.stderr


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Engine]:
    """The real knowledge base, loaded once; a refused reload never replaces it."""
    settings = make_settings(tmp_path_factory.mktemp("kb"))
    holder = KnowledgeHolder.load(settings.facts, settings.article, settings.matching)
    return settings, holder.engine


@pytest.mark.parametrize("name", CASES)
async def test_reload_refuses_the_file_and_old_answers_keep_coming(
    name: str, engine: tuple[Settings, Engine], paths: dict[str, Path]
) -> None:
    settings, first = engine
    message, line = _expected(name)
    # the bot serves the real knowledge base; its knowledge file is now the broken one
    holder = KnowledgeHolder(first, paths[name], settings.article, settings.matching)
    async with open_harness(settings, holder) as h:
        before = await h.ask(CLEAR_QUESTION)
        assert before == [
            (
                "sendMessage",
                {
                    "chat_id": USER,
                    "text": render_html(reply_to(first, CLEAR_QUESTION)),
                    "parse_mode": "HTML",
                },
            )
        ]
        calls = await h.ask("/reload", chat_id=ADMIN, from_id=ADMIN)
        assert len(calls) == 1 and calls[0][0] == "sendMessage"
        reply = html.unescape(calls[0][1]["text"])
        assert reply.startswith("Reload refused: ")
        assert f"Still serving the previous version ({len(first.kb.facts)} facts)" in reply
        assert message in reply
        where = f"{paths[name]}:{line}:" if line is not None else f"{paths[name]}:"
        assert where in reply
        assert h.holder.engine is first and h.holder.version == 1
        assert await h.ask(CLEAR_QUESTION) == before


# --- the limits the editing guide promises ---------------------------------------------------


def test_the_editing_guide_states_the_loader_limits() -> None:
    text = " ".join((ROOT / "docs" / "editing.md").read_text(encoding="utf-8").split())
    section = text[text.index("### Limits") :]
    section = section[: section.index("## Reloading")]
    assert MAX_FILE_BYTES == MAX_ARTICLE_BYTES == 2**20
    for phrase in (
        "1 MiB per knowledge or lexicon file (refused before parsing)",
        f"{MAX_LEXICON_FILES} lexicon files",
        "1 MiB for the article",
        f"{MAX_YAML_NODES:,} YAML nodes",
        f"{MAX_FACTS:,} facts",
        f"{MAX_QUESTIONS_PER_FACT:,} phrasings per fact",
        f"{MAX_PHRASING_CHARS:,} characters per phrasing",
        f"{MAX_ANSWER_CHARS:,} per answer",
        f"{MAX_QUOTE_CHARS:,} per quote",
        f"{MAX_LABEL_CHARS} per label",
    ):
        assert phrase in section, phrase


def test_every_broken_file_is_a_case() -> None:
    assert set(CASES) == {p.name for p in BROKEN.iterdir()} | {HUGE}
    assert len(CASES) == 64
