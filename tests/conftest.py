"""Shared pytest configuration. The ``slow`` marker is defined in ``pyproject.toml``.

xdist (``--dist loadfile``) hands out whole files in collection order; its own default order
(most tests first) would leave the accuracy gates -- a handful of tests of a minute each --
for the end, where one worker runs them while the other has finished. So the files that
take longest start first (longest processing time first), each keeping its tests in file
order; ``--no-loadscope-reorder`` (``pyproject.toml``) makes xdist keep that order.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

LONGEST_FIRST = (
    # the meaning model over every question of the gated sets (about a minute each)
    "test_accuracy_blind.py",
    "test_accuracy_blind_2.py",
    "test_accuracy_heldout.py",
    "test_accuracy.py",
    # real bot processes, subprocesses, real waits (tens of seconds each)
    "test_runtime_process.py",
    "test_cli.py",
    "test_broken_files.py",
    "test_engine_cache.py",
    "test_hostile.py",
    "test_faults.py",
    "test_dialogues.py",
    "test_dialogues_sealed.py",
    "test_optimisations.py",
    "test_editing_guide.py",
    "test_unanswered.py",
    "test_knowledge.py",
    "test_runtime.py",
    "test_e2e.py",
    "test_reloading.py",
    "test_eval_gate.py",
    "test_concurrency.py",
)
"""Test files by how long they take, longest first; the others follow in their own order."""


def _fast_loop(config: pytest.Config) -> bool:
    """``-m "not slow"``: the fast loop, whose files take seconds each."""
    return "not slow" in (config.option.markexpr or "")


FAST_LONGEST_FIRST = (
    "test_engine_cache.py",
    "test_cli.py",
    "test_reloading.py",
    "test_unanswered.py",
    "test_runtime.py",
    "test_telegram_handlers.py",
    "test_broken_files.py",
    "test_access.py",
    "test_e2e.py",
)
"""The same for the fast loop, whose files' lengths differ from the whole suite's."""


SLOW_FILE = re.compile(r"^pytestmark = pytest\.mark\.slow$", re.MULTILINE)
"""A test file whose every test is slow says so in this one module-level line."""


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The fast loop does not import a file whose tests are all slow: each worker would
    import it and rewrite its asserts (about 0.1 s a file) only to deselect every test."""
    if collection_path.suffix != ".py" or not _fast_loop(config):
        return None
    if SLOW_FILE.search(collection_path.read_text(encoding="utf-8")):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    order = FAST_LONGEST_FIRST if _fast_loop(config) else LONGEST_FIRST
    rank = {name: n for n, name in enumerate(order)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: file order kept


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the machine has cores. Many test files spend their
    time waiting on a real bot process, a fake Bot API's delays or a subprocess, so an
    extra worker keeps the cores busy: the whole suite took 178 s instead of 218 s on this
    2-core machine (2026-12-04)."""
    cores = os.cpu_count() or 1
    return cores if _fast_loop(config) else cores + 1  # the fast loop is all CPU
