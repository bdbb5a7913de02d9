"""The one decision rule: a small logistic model over a handful of named features.

For each candidate fact (the lexical matcher's best few and the meaning model's best few)
the engine measures the features below; the rule turns them into the probability that the
fact answers the question. The best candidate is answered when that probability reaches
``answer_at`` (``uncertain_at``: answered, with suggestions); otherwise the article doesn't
say. Weights are fitted by ``benchmarks/fit_decision.py`` on the development sets and kept in
``knowledge/decision.yaml``: no weight is set by hand.

Every feature is explained in one line, and :meth:`Rule.terms` shows what each contributed,
so any answer or decline can say why (``python -m bot explain QUESTION``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot import safe_yaml

FEATURES: Mapping[str, str] = {
    "lex_answer": "1 when the lexical matcher alone would answer with this fact",
    "lex": "lexical score of the fact (0-1): weighted word coverage, both ways",
    "lex_gap": "lexical score minus the best other fact's",
    "lex_top": "1 when the fact is the lexical matcher's first",
    "sem": "meaning similarity: cosine of the question with the fact's nearest phrasing",
    "sem_gap": "meaning similarity minus the best other fact's",
    "sem_top": "1 when the fact is the meaning model's first",
    "sem_typical": "meaning similarity minus the fact's own spread (5th percentile of its "
    "phrasings' similarity to their nearest sibling)",
    "neighbours": "share of the question's 10 nearest knowledge-base texts that are the fact's",
    "negative_lex": "lexical score of the best negative example minus the fact's",
    "negative_sem": "meaning similarity of the nearest negative example minus the fact's",
    "chit_chat": "meaning similarity of the nearest small-talk phrase minus the fact's",
    "kind": "log-share of the fact's phrasings that ask for the same kind of answer "
    "(person, time, amount, ...) as the question",
    "sem_said": "meaning similarity of the question with what the fact says (its answer, in "
    "every language, and its quote)",
    "number_foreign": "1 when the question holds a number none of the fact's texts has "
    "(2022 for a 2021 figure)",
    "scope_foreign": "1 when the question has a scope word (else, other, before, still, "
    "next, ...) none of the fact's texts has",
    "kind_unseen": "1 when no phrasing of the fact asks the question's kind of answer "
    "(an outcome, a place, a reason, ...)",
}
"""Feature name -> what it measures. The order is the order of the weights."""

NAMES: tuple[str, ...] = tuple(FEATURES)
MAX_RULE_BYTES = 65_536


class RuleError(Exception):
    """The decision file cannot be used."""


@dataclass(frozen=True, slots=True)
class Rule:
    """Standardised logistic regression.

    ``p = 1 / (1 + exp(-(bias + sum w_i (x_i - m_i) / s_i)))``
    """

    model: str  # the embedder the weights were fitted with
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weight: tuple[float, ...]
    bias: float
    answer_at: float  # probability at or above which the best fact is answered outright
    uncertain_at: float  # ... from here: answered, with suggestions
    consult_floor: float  # lexical score (0-100) below which the model is not consulted
    smalltalk_at: float  # meaning similarity to a small-talk phrase that makes small talk
    fitted: str = ""  # how and when the weights were fitted (a line for people)

    def terms(self, values: Sequence[float]) -> tuple[float, ...]:
        """Each feature's contribution to the log-odds."""
        return tuple(
            w * (x - m) / s
            for w, x, m, s in zip(self.weight, values, self.mean, self.scale, strict=True)
        )

    def probability(self, values: Sequence[float]) -> float:
        """Probability that the fact with these feature values answers the question."""
        z = self.bias + sum(self.terms(values))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_yaml(self) -> str:
        """The decision file's text."""
        data: dict[str, Any] = {
            "model": self.model,
            "fitted": self.fitted,
            "answer_at": round(self.answer_at, 4),
            "uncertain_at": round(self.uncertain_at, 4),
            "consult_floor": round(self.consult_floor, 2),
            "smalltalk_at": round(self.smalltalk_at, 4),
            "bias": round(self.bias, 6),
            "features": {
                name: {"weight": round(w, 6), "mean": round(m, 6), "scale": round(s, 6)}
                for name, w, m, s in zip(NAMES, self.weight, self.mean, self.scale, strict=True)
            },
        }
        head = (
            "# The engine's decision rule, fitted by benchmarks/fit_decision.py: do not edit\n"
            "# by hand, rerun the script (docs/benchmarks.md). Features: bot/decision.py.\n"
        )
        return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _number(data: Mapping[str, Any], key: str, where: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleError(f"{where}: '{key}' must be a number")
    return float(value)


def parse_rule(text: str, where: str) -> Rule:
    """A :class:`Rule` from the decision file's text, or one clear :class:`RuleError`."""
    try:
        data = safe_yaml.load(text, max_nodes=1_000)
    except yaml.YAMLError as exc:  # safe_yaml's refusals are one line, with the line number
        raise RuleError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("features"), dict):
        raise RuleError(f"{where}: expected a mapping with 'features'")
    features = data["features"]
    if list(features) != list(NAMES):
        raise RuleError(f"{where}: features must be exactly, in order: {', '.join(NAMES)}")
    weight, mean, scale = [], [], []
    for name in NAMES:
        entry = features[name]
        if not isinstance(entry, dict):
            raise RuleError(f"{where}: feature '{name}' must have weight, mean and scale")
        weight.append(_number(entry, "weight", f"{where}: {name}"))
        mean.append(_number(entry, "mean", f"{where}: {name}"))
        s = _number(entry, "scale", f"{where}: {name}")
        if s <= 0:
            raise RuleError(f"{where}: {name}: 'scale' must be positive")
        scale.append(s)
    rule = Rule(
        model=str(data.get("model", "")),
        mean=tuple(mean),
        scale=tuple(scale),
        weight=tuple(weight),
        bias=_number(data, "bias", where),
        answer_at=_number(data, "answer_at", where),
        uncertain_at=_number(data, "uncertain_at", where),
        consult_floor=_number(data, "consult_floor", where),
        smalltalk_at=_number(data, "smalltalk_at", where),
        fitted=str(data.get("fitted", "")),
    )
    if not 0 < rule.uncertain_at <= rule.answer_at < 1:
        raise RuleError(f"{where}: need 0 < uncertain_at <= answer_at < 1")
    return rule


def read_rule(path: Path) -> Rule | None:
    """The rule in ``path``, or None when there is no such file (a lexical-only engine)."""
    if not path.exists():
        return None
    try:
        text = safe_yaml.decode(
            safe_yaml.read_limited(path, MAX_RULE_BYTES, "decision file"), "decision file"
        )
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: {exc}") from None
    return parse_rule(text, str(path))


def fit(
    rows: Sequence[Sequence[float]], labels: Sequence[float], l2: float = 0.01, rounds: int = 60
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...], float]:
    """Mean, scale, weights and bias of an L2-regularised logistic regression (Newton steps)."""
    import numpy as np

    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(rounds):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -60, 60)))
        grad = z.T @ (p - y) / len(y) + penalty * w
        hess = (z * (p * (1 - p))[:, None]).T @ z / len(y) + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return (
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in w[:-1]),
        float(w[-1]),
    )
