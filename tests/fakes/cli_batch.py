"""Many ``python -m bot ARGS`` runs in one process: ``bot.cli.main`` once per argument list.

    python tests/fakes/cli_batch.py < commands.json     # a JSON list of argument lists

For each argument list in turn, file descriptors 1 and 2 go to files of their own (so what
Python and C code print is captured as a subprocess's would be), standard input is empty,
and ``main``'s return value or ``SystemExit`` is the exit status; an exception escaping
``main`` is printed as the interpreter prints it, exit status 1. Writes a JSON list of
``[returncode, stdout, stderr]`` to its standard output. :func:`run_batch` runs it.

It saves a process start (a third of a second) per run where a test needs dozens of runs of
one command; a test using it still runs some of them as real ``python -m bot`` processes
and checks that they said the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_batch(
    commands: Sequence[Sequence[str]], env: dict[str, str], timeout: float
) -> list[subprocess.CompletedProcess[str]]:
    """Each of ``commands`` (arguments of ``python -m bot``), run by one batch process in the
    project root with ``env``; one CompletedProcess per command."""
    done = subprocess.run(
        [sys.executable, __file__],
        input=json.dumps([list(c) for c in commands]),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"the batch process failed:\n{done.stderr}"
    results = json.loads(done.stdout)
    assert len(results) == len(commands)
    return [
        subprocess.CompletedProcess(["python", "-m", "bot", *c], code, _text(out), _text(err))
        for c, (code, out, err) in zip(commands, results, strict=True)
    ]


def _text(output: str) -> str:
    """As ``subprocess.run(text=True)`` reads it: universal newlines."""
    return output.replace("\r\n", "\n").replace("\r", "\n")


def _one(args: list[str]) -> tuple[int, str, str]:
    from bot.cli import main

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.argv = [str(ROOT / "bot" / "__main__.py"), *args]
        try:
            try:
                code = main(args)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if not isinstance(exc.code, int | None):
                    print(exc.code, file=sys.stderr)
            except BaseException:
                traceback.print_exc()
                code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        err.seek(0)
        return code, out.read().decode("utf-8"), err.read().decode("utf-8")


def _main() -> None:
    commands = json.loads(sys.stdin.read())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # as run_bot's stdin=DEVNULL
    os.close(devnull)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    results = [_one(args) for args in commands]
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    sys.path[0] = str(ROOT)  # as for `python -m bot` in the project root: no fakes/
    _main()
