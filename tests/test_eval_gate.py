"""``python -m bot eval`` as a regression gate (issue 12): the config's ``evaluation.gates``,
the --min-* flags, --json and --compare, run as a subprocess on toy sets against the shipped
knowledge base. Exit 0: at or above the gate (or no gate); 1: below it; 2: cannot run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.cli import ROOT, bot_cli

from bot.config import ConfigError, Gate, load_settings

FACTS = ROOT / "knowledge" / "facts.yaml"
ARTICLE = ROOT / "knowledge" / "article.txt"

MEETING = "Who met whom?"
TRADE = "What was the trade turnover in 2021?"
OFF_TOPIC = "Who won the World Cup?"
# Answerable 1/2 (the second case expects a fact the question is not about: wrong on any
# engine), declined 2/2.
TOY = [
    {"q": MEETING, "expect": "meeting_participants", "category": "answerable"},
    {"q": TRADE, "expect": "trade_target_2023", "category": "answerable"},
    {"q": OFF_TOPIC, "category": "off_topic"},
    {"q": "hello", "category": "chit_chat"},
]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return bot_cli("eval", *args, cwd=cwd)


def question_set(tmp_path: Path, cases: list[dict[str, Any]] = TOY, name: str = "toy") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"cases": cases}, allow_unicode=True), encoding="utf-8")
    return path


def config(tmp_path: Path, gates: dict[str, Any]) -> Path:
    """A config beside the sets, with the shipped knowledge and these gates (paths relative
    to the config)."""
    data = {
        "knowledge": {"facts": str(FACTS), "article": str(ARTICLE)},
        "evaluation": {"gates": gates},
    }
    path = tmp_path / "bot.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout.rstrip("\n").splitlines()[-1]


def assert_error(done: subprocess.CompletedProcess[str], *pieces: str) -> None:
    """Exit 2 with one "error:" line on stderr, no traceback, nothing on stdout."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for piece in pieces:
        assert piece in lines[0]


# --- the config's gate ---------------------------------------------------------------------


def test_below_the_configured_gate_exits_1_and_says_which_figure(tmp_path: Path) -> None:
    question_set(tmp_path)
    cfg = config(tmp_path, {"toy.yaml": {"answerable": 60, "declined": 90}})
    # Another spelling of the same file, from another folder: matched by resolved path.
    (tmp_path / "sub").mkdir()
    done = run("--config", str(cfg), "../toy.yaml", cwd=tmp_path / "sub")
    assert done.returncode == 1, done.stderr
    assert last_line(done) == (f"gate FAILED ({cfg}): answerable 50.0% is below its floor 60%")
    assert "all answerable     1/2" in done.stdout  # the report is still there


def test_at_the_configured_floor_exits_0(tmp_path: Path) -> None:
    toy = question_set(tmp_path)
    cfg = config(tmp_path, {"toy.yaml": {"answerable": 50, "declined": 100}})
    done = run("--config", str(cfg), str(toy))
    assert done.returncode == 0, done.stdout + done.stderr
    assert last_line(done) == f"gate passed ({cfg}): answerable >= 50%, declined >= 100%"


def test_a_set_without_a_gate_exits_0_and_says_so(tmp_path: Path) -> None:
    cfg = config(tmp_path, {"other.yaml": {"answerable": 100}})  # another set's gate
    done = run("--config", str(cfg), str(question_set(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert last_line(done).startswith("no gate for this set")


@pytest.mark.slow  # a subprocess each; the fast loop keeps one test of each kind
def test_per_language_floor(tmp_path: Path) -> None:
    cases = [
        {"q": MEETING, "expect": "meeting_participants", "category": "answerable"},
        # Wrong on any engine: the question is about the meeting.
        {
            "q": "Kim kiminle görüştü?",
            "expect": "trade_target_2023",
            "category": "answerable",
            "lang": "tr",
        },
        {"q": "hello", "category": "chit_chat"},
    ]
    toy = question_set(tmp_path, cases)
    cfg = config(tmp_path, {"toy.yaml": {"answerable": 50, "per_language": 50}})
    done = run("--config", str(cfg), str(toy))
    assert done.returncode == 1, done.stdout + done.stderr
    assert last_line(done) == f"gate FAILED ({cfg}): tr answerable 0.0% is below its floor 50%"


# --- the flags -----------------------------------------------------------------------------


@pytest.mark.slow  # a subprocess each; the fast loop keeps one test of each kind
@pytest.mark.parametrize(
    ("flags", "status", "verdict"),
    [
        (["--min-answerable", "60"], 1, "answerable 50.0% is below its floor 60%"),
        (["--min-declined", "100", "--min-answerable", "50%"], 0, "gate passed"),
        (["--min-answerable", "49.9"], 0, "gate passed (--min-answerable): answerable >= 49.9%"),
    ],
)
def test_the_min_flags_supply_a_gate(
    tmp_path: Path, flags: list[str], status: int, verdict: str
) -> None:
    done = run(*flags, str(question_set(tmp_path)))
    assert done.returncode == status, done.stdout + done.stderr
    assert verdict in last_line(done)


@pytest.mark.slow  # a subprocess each; the fast loop keeps one test of each kind
def test_a_flag_overrides_the_configured_floor(tmp_path: Path) -> None:
    toy = question_set(tmp_path)
    cfg = config(tmp_path, {"toy.yaml": {"answerable": 90, "declined": 99}})
    done = run("--config", str(cfg), "--min-answerable", "40", str(toy))
    assert done.returncode == 0, done.stdout
    assert last_line(done) == (
        f"gate passed ({cfg} + --min-answerable): answerable >= 40%, declined >= 99%"
    )


@pytest.mark.slow  # a subprocess each; the fast loop keeps one test of each kind
def test_bad_flags_and_configs_exit_2(tmp_path: Path) -> None:
    toy = question_set(tmp_path)
    out_of_range = run("--min-answerable", "101", str(toy))
    assert out_of_range.returncode == 2
    assert "a percentage from 0 to 100" in out_of_range.stderr
    assert_error(run("--min-turns", "50", str(toy)), "--min-turns", "no turns figure")
    broken = tmp_path / "broken.yaml"
    broken.write_text("evaluation:\n  gates:\n    toy.yaml: {answerable: lots}\n", "utf-8")
    assert_error(
        run("--config", str(broken), str(toy)),
        "evaluation.gates[toy.yaml].answerable must be int or float",
    )
    assert_error(run(str(tmp_path / "nope.yaml")), "question set not found")


# --- --json --------------------------------------------------------------------------------


def test_json_has_figures_gate_and_every_case(tmp_path: Path) -> None:
    done = run("--json", "--min-answerable", "60", str(question_set(tmp_path)))
    assert done.returncode == 1
    # One JSON object on stdout; the verdict on stderr, for the person reading the log.
    result = json.loads(done.stdout)
    assert done.stderr.strip() == "gate FAILED (--min-answerable): " + (
        "answerable 50.0% is below its floor 60%"
    )
    assert list(result) == ["set", "kind", "figures", "gate", "cases"]
    assert result["kind"] == "questions"
    assert list(result["figures"]) == ["all", "en"]
    overall = result["figures"]["all"]
    assert list(overall) == ["answerable", "declined", "near_miss", "off_topic", "chit_chat"]
    assert overall["answerable"] == {"right": 1, "total": 2, "percent": 50.0}
    assert overall["declined"] == {"right": 2, "total": 2, "percent": 100.0}
    assert overall["near_miss"] == {"right": 0, "total": 0, "percent": None}
    assert result["gate"] == {
        "floors": {"answerable": 60.0},
        "source": "--min-answerable",
        "passed": False,
        "below": [
            {
                "figure": "answerable",
                "language": None,
                "right": 1,
                "total": 2,
                "percent": 50.0,
                "floor": 60.0,
            }
        ],
    }
    cases = result["cases"]
    assert [c["question"] for c in cases] == [c["q"] for c in TOY]
    keys = ["question", "category", "language", "expected", "got", "right", "score"]
    assert all(list(c) == keys for c in cases)
    assert [c["right"] for c in cases] == [True, False, True, True]
    assert cases[0]["got"] == "meeting_participants"
    assert cases[1]["expected"] == ["trade_target_2023"]
    assert cases[2]["got"] == "no_answer" and cases[3]["got"] == "smalltalk"
    assert all(isinstance(c["score"], float) for c in cases)


@pytest.mark.slow  # a subprocess each; the fast loop keeps one test of each kind
def test_json_without_a_gate(tmp_path: Path) -> None:
    done = run("--json", str(question_set(tmp_path)))
    assert done.returncode == 0
    assert json.loads(done.stdout)["gate"] is None
    assert done.stderr == ""


# --- --compare -----------------------------------------------------------------------------


def previous_run(tmp_path: Path) -> Path:
    """A previous --json by hand: the trade case was right then, the off-topic one wrong,
    and a case since removed from the set."""
    cases = [
        {"question": MEETING, "language": "en", "category": "answerable", "right": True},
        {
            "question": TRADE,
            "language": "en",
            "category": "answerable",
            "got": "trade_target_2023",
            "right": True,
        },
        {"question": OFF_TOPIC, "language": "en", "category": "off_topic", "right": False},
        {"question": "hello", "language": "en", "category": "chit_chat", "right": True},
        {"question": "gone?", "language": "en", "category": "off_topic", "right": True},
    ]
    previous = {
        "kind": "questions",
        "figures": {
            "all": {
                "answerable": {"right": 2, "total": 2},
                "declined": {"right": 2, "total": 3},
            }
        },
        "cases": cases,
    }
    path = tmp_path / "previous.json"
    path.write_text(json.dumps(previous), encoding="utf-8")
    return path


def test_compare_lists_what_changed(tmp_path: Path) -> None:
    previous = previous_run(tmp_path)
    done = run("--compare", str(previous), str(question_set(tmp_path)))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    start = lines.index(f"since {previous}:")
    section = lines[start:]
    assert "  answerable 100.0% -> 50.0% (-50.0)" in section
    assert "  declined 66.7% -> 100.0% (+33.3)" in section
    right_at, wrong_at = section.index("became right: 1"), section.index("became wrong: 1")
    assert section[right_at + 1] == f"  [off_topic] {OFF_TOPIC!r} (en): got no_answer, was none"
    assert section[wrong_at + 1].startswith(f"  [answerable] {TRADE!r} (en): got ")
    assert "not compared: 0 new case(s), 1 case(s) no longer in the set" in section
    assert section[-1].startswith("no gate for this set")


@pytest.mark.slow  # a subprocess each; the fast loop keeps one test of each kind
def test_compare_in_json(tmp_path: Path) -> None:
    done = run("--json", "--compare", str(previous_run(tmp_path)), str(question_set(tmp_path)))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    compared = result["compare"]
    assert [c["question"] for c in compared["became_right"]] == [OFF_TOPIC]
    assert [c["question"] for c in compared["became_wrong"]] == [TRADE]
    answerable = compared["figures"][0]
    assert answerable == {
        "group": "all",
        "figure": "answerable",
        "before": 100.0,
        "now": 50.0,
        "change": -50.0,
    }
    assert (compared["new_cases"], compared["gone_cases"]) == (0, 1)
    # The output is itself a previous run for next time.
    again = run("--compare", str(_saved(tmp_path, done.stdout)), str(question_set(tmp_path)))
    assert again.returncode == 0
    assert "became right: 0" in again.stdout and "became wrong: 0" in again.stdout


def _saved(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "saved.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow  # a subprocess each; the fast loop keeps one test of each kind
@pytest.mark.parametrize(
    ("content", "piece"),
    [
        (None, "previous run not found"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"kind": "questions", "figures": {}}', "no 'cases' list"),
        ('{"kind": "questions", "figures": {}, "cases": [{"q": "x"}]}', "case #1"),
        ('{"kind": "dialogues", "figures": {}, "cases": []}', "written for a dialogue set"),
    ],
)
def test_a_broken_previous_run_exits_2(tmp_path: Path, content: str | None, piece: str) -> None:
    previous = tmp_path / "previous.json"
    if content is not None:
        previous.write_text(content, encoding="utf-8")
    assert_error(run("--compare", str(previous), str(question_set(tmp_path))), piece)


# --- dialogue sets -------------------------------------------------------------------------


def dialogue_set(tmp_path: Path) -> Path:
    """Turns 2/3 (the last expects a fact its question is not about), declines 1/1."""
    conversations = [
        {
            "id": "d1",
            "turns": [
                {"text": MEETING, "expect": "meeting_participants", "kind": "standalone"},
                {"text": OFF_TOPIC, "expect": "none", "kind": "decline"},
            ],
        },
        {"id": "d2", "turns": [{"text": TRADE, "expect": "trade_target_2023", "kind": "x"}]},
    ]
    path = tmp_path / "dialogues.yaml"
    path.write_text(yaml.safe_dump({"conversations": conversations}), encoding="utf-8")
    return path


@pytest.mark.slow  # a subprocess each; the fast loop keeps one test of each kind
def test_dialogue_set_gate_and_json(tmp_path: Path) -> None:
    dialogues = dialogue_set(tmp_path)
    below = run("--min-turns", "70", str(dialogues))
    assert below.returncode == 1
    assert last_line(below) == "gate FAILED (--min-turns): turns 66.7% is below its floor 70%"
    cfg = config(tmp_path, {"dialogues.yaml": {"turns": 60, "declined": 100}})
    done = run("--config", str(cfg), "--json", str(dialogues))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert list(result) == ["set", "kind", "figures", "kinds", "gate", "cases"]
    assert result["kind"] == "dialogues"
    assert result["figures"]["all"]["turns"] == {"right": 2, "total": 3, "percent": 66.67}
    assert result["figures"]["all"]["declined"] == {"right": 1, "total": 1, "percent": 100.0}
    assert result["gate"]["passed"] is True
    assert [(c["conversation"], c["right"]) for c in result["cases"]] == [
        ("d1", True),
        ("d1", True),
        ("d2", False),
    ]
    assert_error(run("--min-answerable", "50", str(dialogues)), "no answerable figure")


# --- the config section, in process --------------------------------------------------------


def test_the_shipped_config_gates_the_sets() -> None:
    evaluation = load_settings(ROOT / "config" / "bot.yaml", env={}).evaluation
    gate = evaluation.gate_for(ROOT / "tests" / "data" / "questions.yaml")
    assert gate is not None and gate.answerable is not None and gate.declined is not None
    i18n = evaluation.gate_for(ROOT / "tests" / "data" / "questions_i18n.yaml")
    assert i18n is not None and i18n.per_language is not None
    assert evaluation.gate_for(ROOT / "tests" / "data" / "nope.yaml") is None


@pytest.mark.parametrize(
    ("text", "piece"),
    [
        ("evaluation:\n  gate: {}\n", "unknown key evaluation.gate"),
        ("evaluation:\n  gates: [a.yaml]\n", "evaluation.gates must be dict"),
        ("evaluation:\n  gates:\n    a.yaml: 96\n", "evaluation.gates[a.yaml] must be dict"),
        ("evaluation:\n  gates:\n    a.yaml: {}\n", "evaluation.gates[a.yaml] sets no floor"),
        (
            "evaluation:\n  gates:\n    a.yaml: {answerable: 101}\n",
            "evaluation.gates[a.yaml].answerable must be a percentage from 0 to 100, not 101",
        ),
        (
            "evaluation:\n  gates:\n    a.yaml: {declined: true}\n",
            "evaluation.gates[a.yaml].declined must be a number",
        ),
        (
            "evaluation:\n  gates:\n    a.yaml: {answerable: 90, recall: 90}\n",
            "unknown key evaluation.gates[a.yaml].recall",
        ),
        (
            "evaluation:\n  gates:\n    a.yaml: {turns: 1}\n    ./a.yaml: {turns: 2}\n",
            "evaluation.gates[./a.yaml]: a second gate for",
        ),
    ],
)
def test_bad_evaluation_section(tmp_path: Path, text: str, piece: str) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(caught.value).startswith(f"{path}: ")
    assert piece in str(caught.value)
    assert "\n" not in str(caught.value)


def test_gates_resolve_against_the_config_folder(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "bot.yaml"
    path.parent.mkdir()
    path.write_text("evaluation:\n  gates:\n    ../sets/a.yaml: {answerable: 90.5}\n", "utf-8")
    evaluation = load_settings(path, env={}).evaluation
    assert evaluation.gates == ((tmp_path.resolve() / "sets" / "a.yaml", Gate(answerable=90.5)),)
    assert evaluation.gate_for(tmp_path / "conf" / ".." / "sets" / "a.yaml") == Gate(90.5)
