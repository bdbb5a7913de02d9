"""Running a question set against the engine and scoring it per category."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot import safe_yaml
from bot.config import GATE_FIGURES, Gate
from bot.conversation import respond
from bot.engine import Engine
from bot.matcher import Verdict
from bot.replies import Reply

CATEGORIES = ("answerable", "near_miss", "off_topic", "chit_chat")
DECLINED = ("near_miss", "off_topic", "chit_chat")
"""The categories whose right reply gives no fact; "declined right" counts them together."""
QUESTION_FIGURES = ("answerable", "declined")
"""The figures a question set's gate holds (``evaluation.gates`` in the config)."""
MAX_PREVIOUS_BYTES = 256 * 1024 * 1024

Figures = dict[str, dict[str, tuple[int, int]]]
"""(right, total) by group ("all", then each language) and figure name."""


class QuestionSetError(Exception):
    """The question set file cannot be used."""


@dataclass(frozen=True, slots=True)
class Case:
    """One evaluation question with what a right reply is."""

    question: str
    expect: tuple[str, ...]  # acceptable fact ids; empty: no fact
    category: str
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A case and the reply it got."""

    case: Case
    reply: Reply

    @property
    def right(self) -> bool:
        """Answerable: expected facts only (each part of a message of several questions);
        chit-chat: small talk; others: no fact."""
        if self.case.category == "answerable":
            given = [p.fact.id for p in self.reply.shown_parts() if p.fact is not None]
            return bool(given) and all(g in self.case.expect for g in given)
        if self.case.category == "chit_chat":
            return self.reply.verdict is Verdict.SMALLTALK
        return self.reply.fact is None


@dataclass(slots=True)
class Report:
    """Accuracy per category (optionally per language) and every wrong case."""

    outcomes: list[Outcome] = field(default_factory=list)

    def accuracy(self, category: str, language: str | None = None) -> tuple[int, int]:
        """(right, total) for a category, optionally one language."""
        chosen = [
            o
            for o in self.outcomes
            if o.case.category == category and (language is None or o.case.language == language)
        ]
        return sum(o.right for o in chosen), len(chosen)

    @property
    def wrong(self) -> list[Outcome]:
        """Every case that got a wrong reply."""
        return [o for o in self.outcomes if not o.right]

    def languages(self) -> list[str]:
        """Languages present in the set, English first."""
        found = {o.case.language for o in self.outcomes}
        return sorted(found, key=lambda lang: (lang != "en", lang))

    def figure(self, name: str, language: str | None = None) -> tuple[int, int]:
        """(right, total) for a category, or for "declined": the :data:`DECLINED` categories
        together (the gate's second figure)."""
        if name != "declined":
            return self.accuracy(name, language)
        pairs = [self.accuracy(category, language) for category in DECLINED]
        return sum(r for r, _ in pairs), sum(n for _, n in pairs)

    def figures(self) -> Figures:
        """Every figure (answerable, declined, then each declined category), overall and per
        language."""
        groups: list[tuple[str, str | None]] = [("all", None)]
        groups += [(language, language) for language in self.languages()]
        return {
            group: {name: self.figure(name, language) for name in (*QUESTION_FIGURES, *DECLINED)}
            for group, language in groups
        }


def read_set(path: Path, key: str, what: str) -> list[Any]:
    """The top-level ``key:`` list of an evaluation file; QuestionSetError saying why not."""
    try:
        data = safe_yaml.load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QuestionSetError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise QuestionSetError(f"{path}: cannot read {what}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise QuestionSetError(f"{path}: expected a top-level '{key}:' list")
    return list(data[key])


def load_cases(path: Path, known_ids: Iterable[str] | None = None) -> list[Case]:
    """Read a question set: ``cases: [{q, expect, category, lang?}]``."""
    ids = set(known_ids) if known_ids is not None else None
    cases: list[Case] = []
    for number, raw in enumerate(read_set(path, "cases", "question set"), 1):
        where = f"{path}: case #{number}"
        if not isinstance(raw, dict) or not isinstance(raw.get("q"), str):
            raise QuestionSetError(f"{where}: needs a string 'q'")
        category = raw.get("category")
        if category not in CATEGORIES:
            raise QuestionSetError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
        expect = raw.get("expect")
        if not (
            expect is None
            or isinstance(expect, str)
            or (isinstance(expect, list) and all(isinstance(e, str) for e in expect))
        ):
            raise QuestionSetError(f"{where}: 'expect' must be a fact id or a list of fact ids")
        expected = (expect,) if isinstance(expect, str) else tuple(expect or ())
        if category == "answerable" and not expected:
            raise QuestionSetError(f"{where}: an answerable case needs 'expect'")
        if category != "answerable" and expected:
            raise QuestionSetError(f"{where}: only answerable cases may expect a fact")
        if ids is not None:
            for fact_id in expected:
                if fact_id not in ids:
                    raise QuestionSetError(f"{where}: unknown fact id {fact_id!r}")
        cases.append(Case(raw["q"], expected, category, str(raw.get("lang", "en"))))
    return cases


def evaluate(engine: Engine, cases: Iterable[Case]) -> Report:
    """Answer every case, each as the first message of a conversation, as a user gets it."""
    report = Report()
    for case in cases:
        report.outcomes.append(Outcome(case, respond(engine, case.question).reply))
    return report


def format_report(report: Report) -> str:
    """Accuracy per category (and language when there are several), then each wrong case."""
    lines: list[str] = []
    languages = report.languages()
    for language in [None, *languages] if len(languages) > 1 else [None]:
        label = "all" if language is None else language
        for category in CATEGORIES:
            right, total = report.accuracy(category, language)
            if total:
                lines.append(
                    f"{label:>4} {category:<11} {right:>4}/{total:<4} {right / total:7.1%}"
                )
    wrong = report.wrong
    lines.append(f"wrong: {len(wrong)}")
    for o in wrong:
        lines.append(
            f"  [{o.case.category}] {o.case.question!r}: "
            f"got {got(o)} ({o.reply.score:.0f}), want {wanted(o.case)}"
        )
    return "\n".join(lines)


def got(outcome: Outcome) -> str:
    """What the reply gave: its fact ids (``a+b`` for several questions), else its verdict."""
    given = [p.fact.id for p in outcome.reply.shown_parts() if p.fact is not None]
    return "+".join(given) if given else outcome.reply.verdict.value


def wanted(case: Case) -> str:
    """What a right reply gives, as the report shows it."""
    return "|".join(case.expect) or ("smalltalk" if case.category == "chit_chat" else "none")


# --- the gate ------------------------------------------------------------------------------


def _reaches(right: int, total: int, floor: float) -> bool:
    return total > 0 and right * 100 >= floor * total  # exact: no 95.99999% from a division


def _percent(right: int, total: int) -> float | None:
    return round(100 * right / total, 2) if total else None


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A figure below its floor (or with no cases to hold to it)."""

    figure: str
    language: str | None
    right: int
    total: int
    floor: float

    def __str__(self) -> str:
        name = self.figure if self.language is None else f"{self.language} {self.figure}"
        if not self.total:
            return f"{name} has no cases to hold to its floor {self.floor:g}%"
        return f"{name} {100 * self.right / self.total:.1f}% is below its floor {self.floor:g}%"

    def to_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "language": self.language,
            "right": self.right,
            "total": self.total,
            "percent": _percent(self.right, self.total),
            "floor": self.floor,
        }


def shortfalls(figures: Figures, gate: Gate) -> list[Shortfall]:
    """Every figure below its floor: the overall ones (a floor on a figure with no cases
    fails), then with ``per_language`` each language's figures that have cases."""
    out: list[Shortfall] = []
    floors = gate.floors()
    overall = figures.get("all", {})
    for name, floor in floors.items():
        right, total = overall.get(name, (0, 0))
        if not _reaches(right, total, floor):
            out.append(Shortfall(name, None, right, total, floor))
    if gate.per_language is not None:
        names = list(floors) or [name for name in GATE_FIGURES if name in overall]
        for group, table in figures.items():
            for name in names if group != "all" else ():
                right, total = table.get(name, (0, 0))
                if total and not _reaches(right, total, gate.per_language):
                    out.append(Shortfall(name, group, right, total, gate.per_language))
    return out


def describe_gate(gate: Gate) -> str:
    """``answerable >= 96%, declined >= 96%, each language >= 90%``."""
    parts = [f"{name} >= {floor:g}%" for name, floor in gate.floors().items()]
    if gate.per_language is not None:
        parts.append(f"each language >= {gate.per_language:g}%")
    return ", ".join(parts)


def gate_line(gate: Gate | None, source: str, below: Sequence[Shortfall]) -> str:
    """The report's last line: whether the set cleared its gate, and if not, why."""
    if gate is None:
        return (
            "no gate for this set (evaluation.gates in the config, or --min-answerable, "
            "--min-declined, --min-turns)"
        )
    if below:
        return f"gate FAILED ({source}): " + "; ".join(str(s) for s in below)
    return f"gate passed ({source}): {describe_gate(gate)}"


def gate_json(gate: Gate | None, source: str, below: Sequence[Shortfall]) -> dict[str, Any] | None:
    """The gate as ``eval --json`` reports it; None when the set has none."""
    if gate is None:
        return None
    floors: dict[str, float] = dict(gate.floors())
    if gate.per_language is not None:
        floors["per_language"] = gate.per_language
    return {
        "floors": floors,
        "source": source,
        "passed": not below,
        "below": [s.to_json() for s in below],
    }


def figures_json(figures: Figures) -> dict[str, dict[str, dict[str, Any]]]:
    """Each (right, total) as ``{"right", "total", "percent"}`` (percent null: no cases)."""
    return {
        group: {
            name: {"right": right, "total": total, "percent": _percent(right, total)}
            for name, (right, total) in table.items()
        }
        for group, table in figures.items()
    }


def cases_json(report: Report) -> list[dict[str, Any]]:
    """Every case with what it got, in the set's order."""
    return [
        {
            "question": o.case.question,
            "category": o.case.category,
            "language": o.case.language,
            "expected": list(o.case.expect),
            "got": got(o),
            "right": o.right,
            "score": round(o.reply.score, 2),
        }
        for o in report.outcomes
    ]


# --- comparing with a previous run ---------------------------------------------------------


class PreviousRunError(Exception):
    """The previous run (``eval --compare FILE``) cannot be read."""


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_previous(data: object) -> str | None:
    """Why ``data`` is not an ``eval --json`` object, or None."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("kind") not in ("questions", "dialogues"):
        return "no 'kind' (questions or dialogues)"
    figures = data.get("figures")
    if not isinstance(figures, dict) or not all(
        isinstance(table, dict)
        and all(
            isinstance(f, dict) and _is_count(f.get("right")) and _is_count(f.get("total"))
            for f in table.values()
        )
        for table in figures.values()
    ):
        return "'figures' is not a table of {right, total} by group and figure"
    cases = data.get("cases")
    if not isinstance(cases, list):
        return "no 'cases' list"
    for number, case in enumerate(cases, 1):
        if not (
            isinstance(case, dict)
            and isinstance(case.get("question"), str)
            and isinstance(case.get("language"), str)
            and isinstance(case.get("right"), bool)
        ):
            return f"case #{number} lacks a string 'question' and 'language' and a boolean 'right'"
    return None


def read_previous(path: Path) -> dict[str, Any]:
    """A file ``eval --json`` wrote; :class:`PreviousRunError` saying why not."""
    what = "previous run"
    try:
        text = safe_yaml.decode(safe_yaml.read_limited(path, MAX_PREVIOUS_BYTES, what), what)
    except safe_yaml.YAMLFileError as exc:
        raise PreviousRunError(f"{path}: {exc.issues[0].message}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PreviousRunError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "expected a file written by eval --json"
        ) from None
    problem = _check_previous(data)
    if problem is not None:
        raise PreviousRunError(f"{path}: not a file written by eval --json: {problem}")
    assert isinstance(data, dict)
    return data


def _keyed(cases: Sequence[Mapping[str, Any]]) -> dict[tuple[Any, ...], Mapping[str, Any]]:
    """Cases by (conversation, question, language, occurrence): the same question twice in a
    set is matched first to first, second to second."""
    seen: Counter[tuple[Any, ...]] = Counter()
    out: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for case in cases:
        key = (case.get("conversation"), case["question"], case["language"])
        out[(*key, seen[key])] = case
        seen[key] += 1
    return out


@dataclass(frozen=True, slots=True)
class Comparison:
    """What changed since a previous ``eval --json`` of the set."""

    previous: str
    figures: tuple[tuple[str, str, tuple[int, int] | None, tuple[int, int] | None], ...]
    """(group, figure, before, now): every figure either run has cases for."""
    became_right: tuple[tuple[Mapping[str, Any], Mapping[str, Any]], ...]
    """(before, now) of each case wrong then and right now."""
    became_wrong: tuple[tuple[Mapping[str, Any], Mapping[str, Any]], ...]
    new_cases: int
    gone_cases: int


def compare(previous: Mapping[str, Any], current: Mapping[str, Any], name: str) -> Comparison:
    """The cases that became right or wrong, matched by question text and language (and
    conversation), and each figure's change; PreviousRunError for another kind of set."""
    if previous["kind"] != current["kind"]:
        raise PreviousRunError(
            f"{name}: written for a {previous['kind'][:-1]} set, not a {current['kind'][:-1]} set"
        )
    figures = []
    groups = list(current["figures"]) + [
        g for g in previous["figures"] if g not in current["figures"]
    ]
    if len(groups) <= 2:  # "all" and one language: the language's figures are the same
        groups = groups[:1]
    for group in groups:
        now_table = current["figures"].get(group, {})
        then_table = previous["figures"].get(group, {})
        for figure in [*now_table, *(f for f in then_table if f not in now_table)]:
            pair = [
                (t[figure]["right"], t[figure]["total"])
                if figure in t and t[figure]["total"]
                else None
                for t in (then_table, now_table)
            ]
            if pair[0] is not None or pair[1] is not None:
                figures.append((group, figure, pair[0], pair[1]))
    before, now = _keyed(previous["cases"]), _keyed(current["cases"])
    matched = [(before[k], now[k]) for k in now if k in before]
    return Comparison(
        previous=name,
        figures=tuple(figures),
        became_right=tuple((b, n) for b, n in matched if n["right"] and not b["right"]),
        became_wrong=tuple((b, n) for b, n in matched if b["right"] and not n["right"]),
        new_cases=sum(k not in before for k in now),
        gone_cases=sum(k not in now for k in before),
    )


def _shown_share(pair: tuple[int, int] | None) -> str:
    return "-" if pair is None else f"{100 * pair[0] / pair[1]:.1f}%"


def _shown_ids(value: object) -> str:
    if isinstance(value, list):
        return " + ".join(_shown_ids(v) for v in value) or "none"
    return str(value) if value not in (None, "") else "none"


def _case_line(before: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    label = now.get("category") or now.get("kind") or "-"
    where = f" ({now['conversation']})" if now.get("conversation") is not None else ""
    return (
        f"  [{label}{where}] {now['question']!r} ({now['language']}): "
        f"got {_shown_ids(now.get('got'))}, was {_shown_ids(before.get('got'))}"
    )


def format_comparison(comparison: Comparison) -> str:
    """Each figure's change (``answerable 91.2% -> 92.0% (+0.8)``), then the cases that
    became right and those that became wrong."""
    lines = [f"since {comparison.previous}:"]
    for group, figure, before, now in comparison.figures:
        label = figure if group == "all" else f"{group} {figure}"
        change = (
            f" ({100 * now[0] / now[1] - 100 * before[0] / before[1]:+.1f})"
            if before is not None and now is not None
            else ""
        )
        lines.append(f"  {label} {_shown_share(before)} -> {_shown_share(now)}{change}")
    lines.append(f"became right: {len(comparison.became_right)}")
    lines.extend(_case_line(b, n) for b, n in comparison.became_right)
    lines.append(f"became wrong: {len(comparison.became_wrong)}")
    lines.extend(_case_line(b, n) for b, n in comparison.became_wrong)
    if comparison.new_cases or comparison.gone_cases:
        lines.append(
            f"not compared: {comparison.new_cases} new case(s), "
            f"{comparison.gone_cases} case(s) no longer in the set"
        )
    return "\n".join(lines)


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """The comparison as ``eval --json --compare`` reports it."""

    def change(before: tuple[int, int] | None, now: tuple[int, int] | None) -> float | None:
        if before is None or now is None:
            return None
        return round(100 * now[0] / now[1] - 100 * before[0] / before[1], 2)

    return {
        "previous": comparison.previous,
        "figures": [
            {
                "group": group,
                "figure": figure,
                "before": None if before is None else _percent(*before),
                "now": None if now is None else _percent(*now),
                "change": change(before, now),
            }
            for group, figure, before, now in comparison.figures
        ],
        "became_right": [dict(n) for _, n in comparison.became_right],
        "became_wrong": [dict(n) for _, n in comparison.became_wrong],
        "new_cases": comparison.new_cases,
        "gone_cases": comparison.gone_cases,
    }
