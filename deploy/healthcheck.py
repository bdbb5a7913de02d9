"""Container health check: exit 0 when the bot looks alive, else 1 and one line why.

Both modes: the bot's process (PID 1 in the container) exists and is neither stopped nor a
zombie, and its heartbeat file (beside the outbox) was touched within the last
HEARTBEAT_STALE_SECONDS: the bot touches it at every poll, or every 10 s while it serves the
webhook, so a process whose event loop is stuck is unhealthy too. Webhook mode: the webhook
server also accepts connections on its port. None of this says that Telegram is reachable
(polling goes on, and beats, through an outage); a broken knowledge file is not unhealthy
either (the bot keeps serving the previous version, and restarting it would not help).

Usage: python deploy/healthcheck.py [--config PATH] [--pid PID]
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from pathlib import Path

from bot.config import DEFAULT_CONFIG, ConfigError, load_settings

HEARTBEAT_STALE_SECONDS = 120.0
"""Older than this, the heartbeat is stale: a poll takes at most ~20 s, a webhook beat 10 s."""
_DEAD_STATES = frozenset("ZXTt")
"""/proc/PID/stat states of a process that will answer nothing: zombie, dead, stopped."""


def _process_problem(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return f"no process {pid}"
    state = stat.rpartition(")")[2].split()[:1]  # the command name may hold spaces and ")"
    if not state or state[0] in _DEAD_STATES:
        return f"process {pid} is not running (state {''.join(state) or '?'})"
    return None


def _port_problem(listen: str, port: int) -> str | None:
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(listen, listen)
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as exc:
        return f"the webhook server on {host}:{port} does not answer: {exc.strerror or exc}"


def _heartbeat_problem(path: Path) -> str | None:
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return f"no heartbeat file {path} (the bot has not polled or served yet)"
    if age > HEARTBEAT_STALE_SECONDS:
        return f"no heartbeat for {age:.0f} s ({path}): the bot is stuck"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="the bot's config file")
    parser.add_argument("--pid", type=int, default=1, help="the bot's process id (default 1)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(Path(args.config))
    except ConfigError as exc:
        problem: str | None = f"config error: {exc}"
    else:
        hook = settings.telegram.webhook
        problem = _process_problem(args.pid) or _heartbeat_problem(settings.heartbeat_file)
        if problem is None and settings.telegram.mode == "webhook":
            problem = _port_problem(hook.listen, hook.port)
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
