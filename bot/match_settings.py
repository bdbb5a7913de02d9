"""The matcher's tunable thresholds and weights (:class:`MatchSettings`), and their defaults.

A module of its own, so that reading the configuration does not import the matcher.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """Tunable thresholds and weights; the defaults are ``config/bot.yaml``'s, chosen by
    ``benchmarks/tune.py`` on the evaluation sets (see README)."""

    answer_threshold: float = 55.0
    uncertain_threshold: float = 50.0
    min_margin: float = 3.0
    token_cutoff: float = 82.0
    sibling_word_credit: float = 0.6
    fact_word_credit: float = 0.3
    question_weight: float = 0.65
    unknown_word_weight: float = 0.9
    unexplained_penalty: float = 0.5
    unknown_word_penalty: float = 0.8
    number_penalty: float = 0.5
    min_phrasing_weight: float = 2.5
    prefix_share: float = 0.75
    prefix_similarity: float = 0.85
    smalltalk_threshold: float = 88.0
    suggestion_floor: float = 20.0
    max_suggestions: int = 3
