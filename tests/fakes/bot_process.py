"""The real ``python -m bot run`` process, pointed at a :class:`~fakes.bot_api.FakeBotApi`.

:func:`write_config` makes a config on temporary copies of the knowledge files (with a flood
control limit far above what a test sends, unless told otherwise); :class:`BotProcess` starts
the bot with a token in its environment, waits for it to poll, and stops it with a signal.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from fakes.bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


def write_config(
    folder: Path,
    questions_per_minute: int = 100_000,
    unanswered_file: Path | None = None,
    **telegram: Any,
) -> tuple[Path, Path]:
    """A config on copies of the knowledge files in ``folder``; returns (config, facts)."""
    knowledge = folder / "knowledge"
    knowledge.mkdir(parents=True, exist_ok=True)
    facts, article = knowledge / "facts.yaml", knowledge / "article.txt"
    shutil.copyfile(ROOT / "knowledge" / "facts.yaml", facts)
    shutil.copyfile(ROOT / "knowledge" / "article.txt", article)
    shutil.copytree(ROOT / "knowledge" / "lexicon", knowledge / "lexicon", dirs_exist_ok=True)
    config = yaml.safe_load((ROOT / "config" / "bot.yaml").read_text(encoding="utf-8"))
    config["knowledge"] = {"facts": str(facts), "article": str(article)}
    config["telegram"]["rate_limit"] = {"questions": questions_per_minute, "per_seconds": 60}
    config["telegram"].update(telegram)
    config["logging"]["unanswered_file"] = None if unanswered_file is None else str(unanswered_file)
    path = folder / "bot.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path, facts


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """``os.environ`` less the bot's settings (TELEGRAM_*, BOT_*, PYTHONPATH), plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "BOT_")) and k != "PYTHONPATH"
    }
    env.update(extra)
    return env


def bot_env(api: FakeBotApi, token: str, **extra: str) -> dict[str, str]:
    return clean_env(
        {
            "PYTHONUNBUFFERED": "1",
            "TELEGRAM_BASE_URL": api.base_url,
            "TELEGRAM_BOT_TOKEN": token,
            "BOT_LOG_LEVEL": "DEBUG",
            **extra,
        }
    )


def run_bot(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` in the project root, run to its end; its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (as of now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """One ``python -m bot run`` process; its stderr goes to a file."""

    def __init__(self, api: FakeBotApi, config: Path, stderr_path: Path, env: dict[str, str]):
        self.api = api
        self.stderr_path = stderr_path
        with stderr_path.open("wb") as stderr:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(config)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    def wait_polling(self, since: int = 0, timeout: float = START_TIMEOUT) -> None:
        """Wait for the first getUpdates after ``since``."""
        try:
            self.api.wait_for_call("getUpdates", since=since, timeout=timeout)
        except AssertionError:
            self.kill()
            raise AssertionError(f"the bot did not start polling:\n{self.stderr()}") from None

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def terminate(self, timeout: float = 10.0) -> tuple[int, float]:
        """SIGTERM; the exit status and how many seconds the process took to end."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
