"""Shared pytest configuration: the ``slow`` marker (``pytest -m "not slow"`` skips them)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: runs the real bot process for several seconds (deselect: -m 'not slow')"
    )
