"""Running ``python -m bot ...`` as a child process and timing it (startup and throughput).

Not a benchmark itself: used by benchmarks.startup and benchmarks.throughput.

On Linux a child's ``ru_maxrss`` starts from the peak resident size of the process that
spawned it (the kernel carries the old address space's high-water mark across ``exec``), so
a child of the benchmark process (~25 MB with the bot imported) could never report less. The
command is therefore spawned by a minimal launcher (``python -I -S``, about 8 MB), which
waits for it and reports its ``wait4`` usage and its start and end times (``perf_counter``
is CLOCK_MONOTONIC, shared by all processes) through a pipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.common import ROOT

_LAUNCHER = """
import os, resource, sys, time
fd = int(sys.argv[1])
os.set_inheritable(fd, False)
floor = 0
try:
    with open("/proc/self/status") as status_file:
        floor = next(int(l.split()[1]) for l in status_file if l.startswith("VmHWM"))
except (OSError, StopIteration, ValueError):
    pass
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
end = time.perf_counter()
report = (start, end, usage.ru_maxrss, usage.ru_utime, usage.ru_stime, floor)
os.write(fd, " ".join(map(str, report)).encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


@dataclass(slots=True)
class Run:
    """One child process: when its first output line came, when it ended, what it used."""

    first_line_s: float | None
    exit_s: float
    returncode: int
    maxrss_bytes: int
    user_s: float
    system_s: float
    floor_bytes: int
    lines: list[str] = field(default_factory=list)
    stderr: str = ""


def bot_command(*args: str) -> list[str]:
    """``python -m bot ARGS`` with the interpreter running the benchmarks."""
    return [sys.executable, "-m", "bot", *args]


def bytecode_env() -> dict[str, str]:
    """This environment with bytecode caching allowed, as for an installed bot.

    ``PYTHONDONTWRITEBYTECODE`` would make every start compile the bot's modules again.
    """
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(
    command: Sequence[str],
    stdin_lines: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """Run ``command`` in the project root, feeding ``stdin_lines``; time and measure it.

    Times are from the moment the launcher spawns the command: to the first line on stdout
    and to the command's exit. Memory and CPU are the command's own ``wait4`` usage
    (``ru_maxrss``: its peak resident size; at least the launcher's, ``floor_bytes``).
    """
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(write_end), *command],
            cwd=ROOT,
            stdin=subprocess.PIPE if stdin_lines is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            pass_fds=(write_end,),
            env=env,
        )
        os.close(write_end)
        writer = None
        if stdin_lines is not None:
            data = "".join(line + "\n" for line in stdin_lines).encode()

            def feed() -> None:
                assert proc.stdin is not None
                try:
                    proc.stdin.write(data)
                except BrokenPipeError:
                    pass
                finally:
                    proc.stdin.close()

            writer = threading.Thread(target=feed, daemon=True)
            writer.start()
        assert proc.stdout is not None
        first_line_at = None
        lines: list[str] = []
        for raw in proc.stdout:
            if first_line_at is None:
                first_line_at = time.perf_counter()
            lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
        proc.stdout.close()
        returncode = proc.wait()
        if writer is not None:
            writer.join()
        with os.fdopen(read_end, "rb") as pipe:
            report = pipe.read().decode().split()
        err.seek(0)
        stderr = err.read().decode("utf-8", errors="replace")
    if len(report) != 6:
        raise RuntimeError(f"the launcher reported nothing; stderr:\n{stderr}")
    start, end = float(report[0]), float(report[1])
    return Run(
        first_line_s=None if first_line_at is None else first_line_at - start,
        exit_s=end - start,
        returncode=returncode,
        maxrss_bytes=int(report[2]) * 1024,  # KiB on Linux
        user_s=float(report[3]),
        system_s=float(report[4]),
        floor_bytes=int(report[5]) * 1024,
        lines=lines,
        stderr=stderr,
    )
