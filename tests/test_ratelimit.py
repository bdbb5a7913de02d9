"""Per-user sliding-window flood control (bot/ratelimit.py)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ratelimit import Decision, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_allows_up_to_the_limit_then_one_note_then_silence() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 10, clock=clock)
    assert [limiter.check(1) for _ in range(3)] == [Decision.ALLOW] * 3
    assert limiter.check(1) is Decision.NOTIFY
    assert limiter.check(1) is Decision.SILENT
    assert limiter.check(2) is Decision.ALLOW  # other users are not affected
    clock.now = 9.9
    assert limiter.check(1) is Decision.SILENT
    clock.now = 10.0  # the three questions of t=0 leave the window
    assert [limiter.check(1) for _ in range(3)] == [Decision.ALLOW] * 3
    assert limiter.check(1) is Decision.NOTIFY  # a new window: one more note


def test_window_slides() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 10, clock=clock)
    assert limiter.check("u") is Decision.ALLOW
    clock.now = 6
    assert limiter.check("u") is Decision.ALLOW
    clock.now = 10.5  # the first left the window, the second has not
    assert limiter.check("u") is Decision.ALLOW
    assert limiter.check("u") is Decision.NOTIFY


def test_idle_users_are_pruned() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 10, clock=clock, max_users=3)
    for user in range(3):
        limiter.check(user)
    clock.now = 100
    limiter.check(99)
    assert len(limiter) == 1


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, 10)
    with pytest.raises(ValueError):
        RateLimiter(1, 0)


@given(
    limit=st.integers(1, 5),
    gaps=st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=60),
)
def test_never_more_than_limit_allowed_in_any_window(limit: int, gaps: list[float]) -> None:
    clock = Clock()
    limiter = RateLimiter(limit, 10, clock=clock)
    allowed: list[float] = []
    notes: list[float] = []
    for gap in gaps:
        clock.now += gap
        decision = limiter.check(1)
        if decision is Decision.ALLOW:
            allowed.append(clock.now)
        elif decision is Decision.NOTIFY:
            notes.append(clock.now)
    for t in allowed:
        assert sum(1 for u in allowed if t - 10 < u <= t) <= limit
    for a, b in itertools.pairwise(notes):
        # never two notes while the same questions fill the window
        assert any(a < u <= b for u in allowed) or b - a >= 10
