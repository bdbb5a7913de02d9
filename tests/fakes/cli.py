"""Running ``python -m bot ...`` as a subprocess, as a user does, for the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def cli_env(**extra: str) -> dict[str, str]:
    """This environment without the bot's own variables (a developer's BOT_ADMINS, say)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "PYTHON"))}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUTF8"] = "1"
    env.update(extra)
    return env


def bot_cli(
    *args: str,
    stdin: bytes | str | None = None,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` with ``stdin``; its output decoded as UTF-8."""
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=data if data is not None else b"",
        capture_output=True,
        cwd=cwd,
        env=env or cli_env(),
        timeout=TIMEOUT,
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    )
