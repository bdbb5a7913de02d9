"""Dialogue sets: conversations of a few turns, each turn with what a right reply gives.

The file::

    conversations:
      - id: d001
        lang: en
        turns:
          - text: "who is Derya Yanik?"
            expect: yanik_role                  # a fact id, a list of acceptable ids, or none
            kind: standalone
          - text: "how much was trade in 2021 and what's the 2023 goal?"
            parts: [trade_turnover_2021, trade_target_2023]   # one item per question
            kind: multi

A turn with ``expect`` is right when the reply gives only acceptable facts (``none``: no
fact). A turn with ``parts`` is right when every answerable part's fact is given and nothing
else is (a ``none`` part must not be answered). Replies are scored from the ``converse
--json`` objects, so a set measures exactly what a user of ``converse`` gets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.conversation import Conversations
from bot.engine import Engine
from bot.evaluation import Figures, QuestionSetError, read_set
from bot.render_json import to_json

MAX_TURNS = 20
DIALOGUE_FIGURES = ("turns", "declined")
"""The figures a dialogue set's gate holds: turns right, and turns of kind ``decline`` right
(context must not turn a right decline into an answer)."""


class DialogueSetError(QuestionSetError):
    """The dialogue set file cannot be used."""


@dataclass(frozen=True, slots=True)
class DialogueTurn:
    """One message of a conversation and the facts a right reply gives."""

    conversation: str
    text: str
    groups: tuple[tuple[str, ...], ...]
    """Per question of the message: the acceptable fact ids (empty: the article doesn't say)."""
    multi: bool
    kind: str
    language: str


def _group(value: object, where: str) -> tuple[str, ...]:
    if value is None or value == "none":
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if v != "none")
    raise DialogueSetError(f"{where}: a fact id, a list of fact ids, or none")


def is_dialogue_set(path: Path) -> bool:
    """Whether ``path`` looks like a dialogue set (a top-level ``conversations:`` key)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return any(line.startswith("conversations:") for line in head.splitlines())


def load_dialogues(path: Path, known_ids: Iterable[str] | None = None) -> list[list[DialogueTurn]]:
    """Read a dialogue set (see the module docstring); every problem names its turn."""
    ids = set(known_ids) if known_ids is not None else None
    out: list[list[DialogueTurn]] = []
    for number, raw in enumerate(read_set(path, "conversations", "dialogue set"), 1):
        where = f"{path}: conversation #{number}"
        if not isinstance(raw, dict) or not isinstance(raw.get("turns"), list) or not raw["turns"]:
            raise DialogueSetError(f"{where}: needs a non-empty 'turns' list")
        name = str(raw.get("id", number))
        language = str(raw.get("lang", "en"))
        turns = []
        for index, turn in enumerate(raw["turns"][:MAX_TURNS], 1):
            at = f"{where} ({name}), turn {index}"
            if not isinstance(turn, dict) or not isinstance(turn.get("text"), str):
                raise DialogueSetError(f"{at}: needs a string 'text'")
            if ("expect" in turn) == ("parts" in turn):
                raise DialogueSetError(f"{at}: needs exactly one of 'expect' and 'parts'")
            if "parts" in turn:
                if not isinstance(turn["parts"], list) or not turn["parts"]:
                    raise DialogueSetError(f"{at}: 'parts' must be a non-empty list")
                groups = tuple(_group(p, at) for p in turn["parts"])
            else:
                groups = (_group(turn["expect"], at),)
            for fact_id in (i for g in groups for i in g):
                if ids is not None and fact_id not in ids:
                    raise DialogueSetError(f"{at}: unknown fact id {fact_id!r}")
            turns.append(
                DialogueTurn(
                    name,
                    turn["text"],
                    groups,
                    "parts" in turn,
                    str(turn.get("kind", "-")),
                    language,
                )
            )
        out.append(turns)
    return out


def given_facts(reply: Mapping[str, Any]) -> list[str]:
    """The fact ids a ``converse --json`` (or ``ask --json``) object gives, in order."""
    if reply.get("parts"):
        return [p["fact_id"] for p in reply["parts"] if p.get("fact_id")]
    return [reply["fact_id"]] if reply.get("fact_id") else []


def turn_right(turn: DialogueTurn, given: Sequence[str]) -> bool:
    """Whether a reply giving ``given`` is right for ``turn``."""
    acceptable = {i for g in turn.groups for i in g}
    if any(g not in acceptable for g in given):
        return False
    if not turn.multi:
        return bool(given) == bool(turn.groups[0])
    return all(not g or any(i in g for i in given) for g in turn.groups)


def _interleaved(
    dialogues: Sequence[Sequence[DialogueTurn]],
) -> list[tuple[int, int, DialogueTurn]]:
    """(conversation number, step, turn): every conversation's first turn, then every
    second turn, and so on, so context must be kept per conversation."""
    longest = max((len(d) for d in dialogues), default=0)
    return [
        (number, step, turns[step])
        for step in range(longest)
        for number, turns in enumerate(dialogues)
        if step < len(turns)
    ]


def requests(dialogues: Sequence[Sequence[DialogueTurn]]) -> list[dict[str, Any]]:
    """The ``converse --json`` input for the set: conversations interleaved, each one's turns
    a minute apart."""
    return [
        {"conversation": number, "text": turn.text, "at": 60.0 * step}
        for number, step, turn in _interleaved(dialogues)
    ]


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    turn: DialogueTurn
    given: tuple[str, ...]

    @property
    def right(self) -> bool:
        return turn_right(self.turn, self.given)


def score(
    dialogues: Sequence[Sequence[DialogueTurn]], replies: Sequence[Mapping[str, Any]]
) -> list[TurnOutcome]:
    """Pair :func:`requests`' order of replies back with their turns."""
    order = [turn for _, _, turn in _interleaved(dialogues)]
    if len(order) != len(replies):
        raise ValueError(f"{len(replies)} replies for {len(order)} turns")
    return [TurnOutcome(t, tuple(given_facts(r))) for t, r in zip(order, replies, strict=True)]


def run_in_process(
    engine: Engine, dialogues: Sequence[Sequence[DialogueTurn]]
) -> list[TurnOutcome]:
    """What ``converse --json -`` would reply to :func:`requests`, scored (``eval``)."""
    conversations = Conversations()
    replies = [
        to_json(conversations.respond(engine, r["conversation"], r["text"], r["at"]))
        for r in requests(dialogues)
    ]
    return score(dialogues, replies)


def format_dialogue_report(outcomes: Sequence[TurnOutcome], wrong: bool = True) -> str:
    """Accuracy overall, per kind and per language, then (optionally) every wrong turn."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        for key in ("all", f"kind {o.turn.kind}", f"lang {o.turn.language}"):
            table[key][0] += o.right
            table[key][1] += 1
    lines = [f"{k:<20} {r:>4}/{n:<4} {r / n:7.1%}" for k, (r, n) in sorted(table.items())]
    if wrong:
        bad = [o for o in outcomes if not o.right]
        lines.append(f"wrong: {len(bad)}")
        for o in bad:
            want = " + ".join("|".join(g) or "none" for g in o.turn.groups)
            lines.append(
                f"  [{o.turn.conversation} {o.turn.kind}] {o.turn.text!r}: "
                f"got {', '.join(o.given) or 'none'}, want {want}"
            )
    return "\n".join(lines)


def dialogue_figures(outcomes: Sequence[TurnOutcome]) -> Figures:
    """(right, total) of turns and of ``decline`` turns, overall and per language."""
    languages = sorted({o.turn.language for o in outcomes}, key=lambda lang: (lang != "en", lang))
    out: Figures = {}
    for group in ("all", *languages):
        chosen = [o for o in outcomes if group == "all" or o.turn.language == group]
        declines = [o for o in chosen if o.turn.kind == "decline"]
        out[group] = {
            "turns": (sum(o.right for o in chosen), len(chosen)),
            "declined": (sum(o.right for o in declines), len(declines)),
        }
    return out


def kinds_json(outcomes: Sequence[TurnOutcome]) -> dict[str, dict[str, Any]]:
    """Turns right per kind, for ``eval --json``."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        table[o.turn.kind][0] += o.right
        table[o.turn.kind][1] += 1
    return {
        kind: {"right": r, "total": n, "percent": round(100 * r / n, 2)}
        for kind, (r, n) in sorted(table.items())
    }


def turns_json(outcomes: Sequence[TurnOutcome]) -> list[dict[str, Any]]:
    """Every turn with what it got, conversation by conversation."""
    # The outcomes come interleaved (every first turn, then every second...); a stable sort
    # on the conversation's first appearance puts each conversation's turns together.
    first: dict[str, int] = {}
    for o in outcomes:
        first.setdefault(o.turn.conversation, len(first))
    ordered = sorted(outcomes, key=lambda o: first[o.turn.conversation])
    return [
        {
            "conversation": o.turn.conversation,
            "question": o.turn.text,
            "kind": o.turn.kind,
            "language": o.turn.language,
            "expected": [list(g) for g in o.turn.groups],
            "got": list(o.given),
            "right": o.right,
        }
        for o in ordered
    ]
