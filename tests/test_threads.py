"""The bot's processes run numpy and the meaning model on one thread each (bot/__init__.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_COUNT = "print(len(os.listdir('/proc/self/task')))"
_THREADS = f"import bot.engine, numpy, os; {_COUNT}"
_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _threads(code: str, **env: str) -> int:
    clean = {k: v for k, v in os.environ.items() if k not in _VARIABLES}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(result.stdout)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenBLAS starts no workers")
def test_importing_the_engine_starts_no_blas_worker_threads() -> None:
    assert _threads(f"import numpy, os; {_COUNT}") > 1  # without the bot: OpenBLAS's workers
    assert _threads(_THREADS) == 1


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenBLAS starts no workers")
def test_an_operators_thread_setting_wins() -> None:
    assert _threads(_THREADS, OPENBLAS_NUM_THREADS="2") == 2
