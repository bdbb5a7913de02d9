"""Command line: ``python -m bot {ask,chat,converse,check,eval,explain,run}``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot import texts
from bot.cards import help_card, source_card, start_card, topics_card
from bot.config import DEFAULT_CONFIG, ConfigError, Gate, Settings, load_settings
from bot.conversation import Conversations, after_fact, respond
from bot.dialogues import (
    DIALOGUE_FIGURES,
    dialogue_figures,
    format_dialogue_report,
    is_dialogue_set,
    kinds_json,
    load_dialogues,
    run_in_process,
    turns_json,
)
from bot.engine import Engine
from bot.engine_cache import load_engine
from bot.evaluation import (
    QUESTION_FIGURES,
    PreviousRunError,
    QuestionSetError,
    cases_json,
    compare,
    comparison_json,
    evaluate,
    figures_json,
    format_comparison,
    format_report,
    gate_json,
    gate_line,
    load_cases,
    read_previous,
    shortfalls,
)
from bot.gc_freeze import settle
from bot.knowledge_load import knowledge_files, load_knowledge
from bot.knowledge_model import KnowledgeError
from bot.matcher import Verdict
from bot.render_json import to_json
from bot.render_plain import card_plain, render_plain
from bot.replies import Reply, reply_to_fact
from bot.unanswered import (
    DEFAULT_DAYS,
    DEFAULT_TOP,
    UnansweredFileError,
    read_unanswered,
)
from bot.unanswered import render_plain as render_unanswered
from bot.unanswered import report as unanswered_report


class CliError(Exception):
    """A problem to report on stderr as one message, with exit status ``status``: 1, but 2
    for ``eval`` (whose 1 means "below the gate")."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        "telegram.mode": getattr(args, "mode", None),
        "telegram.webhook.url": getattr(args, "webhook_url", None),
        "telegram.webhook.listen": getattr(args, "listen", None),
        "telegram.webhook.port": getattr(args, "port", None),
    }
    env = dict(os.environ)
    if overrides["telegram.mode"] is not None:
        env.pop("BOT_MODE", None)  # a flag given on this command line wins
    if overrides["telegram.webhook.url"] is not None:
        env.pop("TELEGRAM_WEBHOOK_URL", None)
    try:
        return load_settings(Path(args.config), env, overrides)
    except ConfigError as exc:
        raise CliError(f"config error: {exc}") from None


def _engine(settings: Settings) -> Engine:
    try:
        engine = load_engine(settings.facts, settings.article, settings.matching)
    except KnowledgeError as exc:
        raise CliError(f"knowledge base error:\n{exc}") from None
    settle()
    return engine


def _write(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")
    stream.flush()


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question, or (with --json -) one question per stdin line."""
    engine = _engine(_settings(args))
    if args.question == ["-"]:
        for line in sys.stdin:
            reply = respond(engine, line.rstrip("\r\n")).reply
            if args.json:
                _write(sys.stdout, json.dumps(to_json(reply), ensure_ascii=False))
            else:
                _write(sys.stdout, render_plain(reply) + "\n")
        return 0
    question = " ".join(args.question)
    reply = respond(engine, question).reply
    if args.json:
        _write(sys.stdout, json.dumps(to_json(reply), ensure_ascii=False))
    else:
        _write(sys.stdout, render_plain(reply))
    return 0


def _conversation_request(line: str) -> tuple[str | int, str, float | None]:
    """``{"conversation": ID, "text": "...", "at": SECONDS?}``, or ValueError saying why not."""
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(request, dict):
        raise ValueError("not a JSON object")
    key, text, at = request.get("conversation"), request.get("text"), request.get("at")
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise ValueError("'conversation' must be a string or an integer")
    if not isinstance(text, str):
        raise ValueError("'text' must be a string")
    if at is not None and (isinstance(at, bool) or not isinstance(at, (int, float))):
        raise ValueError("'at' must be a number of seconds")
    return key, text, None if at is None else float(at)


def cmd_converse(args: argparse.Namespace) -> int:
    """Conversations as JSON lines: one request in, one reply out, context per conversation."""
    settings = _settings(args)
    engine = _engine(settings)
    conversations = Conversations(settings.context_minutes * 60)
    for number, line in enumerate(sys.stdin, 1):
        try:
            key, text, at = _conversation_request(line)
        except ValueError as exc:
            _write(sys.stdout, json.dumps({"error": f"line {number}: {exc}"}))
            continue
        # "at" lets a script (or a test) replay a conversation on its own clock.
        now = time.monotonic() if at is None else at
        try:
            reply = conversations.respond(engine, key, text, now)
        except Exception:  # one line's failure must not cost the lines after it
            logging.getLogger(__name__).exception("converse: line %d failed", number)
            _write(sys.stdout, json.dumps({"error": f"line {number}: internal error (logged)"}))
            continue
        out = {"conversation": key, **to_json(reply)}
        _write(sys.stdout, json.dumps(out, ensure_ascii=False))
    return 0


CONSOLE = "console"
"""The console chat's one conversation."""
QUIT_WORDS = frozenset({"/quit", "/exit", "quit", "exit"})
"""Typed alone, these end the console chat (Ctrl-D too)."""


def _console_reload(settings: Settings, engine: Engine) -> tuple[Engine, str]:
    """The console's /reload: the new engine and a summary, or the old one and why not."""
    try:
        fresh = _engine(settings)
    except CliError as exc:
        return engine, f"Reload refused; the knowledge loaded before stays.\n{exc}"
    facts = len(fresh.kb.facts)
    return fresh, f"Reloaded {settings.facts}: {facts} facts, digest {fresh.kb.digest[:12]}."


def _knowledge_stamp(settings: Settings, engine: Engine) -> tuple[tuple[str, int, int], ...]:
    """When and how big each file the knowledge base was read from is (a missing one: -1).

    The console has no watcher task; it compares these before each message, which costs a
    few stat calls and catches an editor's save before the next question is answered.
    """
    stamps = []
    for path in knowledge_files(engine.kb, settings.facts, settings.article):
        try:
            info = path.stat()
        except OSError:
            stamps.append((str(path), -1, -1))
        else:
            stamps.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(stamps)


def _interactive_input() -> None:
    """Line editing and history (the Up arrow) for a person at a terminal."""
    with contextlib.suppress(ImportError):  # Windows has no readline
        import readline  # noqa: F401  (importing it is what turns it on for input())


def _wrapped(text: str, width: int) -> str:
    """``text`` wrapped at word boundaries to ``width`` columns, keeping each line's indent."""
    out = []
    for line in text.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        out.append(
            textwrap.fill(line, width, initial_indent="", subsequent_indent=indent + "  ")
            if len(line) > width
            else line
        )
    return "\n".join(out)


def cmd_chat(args: argparse.Namespace) -> int:
    """Interactive console conversation with the Telegram bot's replies."""
    settings = _settings(args)
    engine = _engine(settings)
    conversations = Conversations(settings.context_minutes * 60)  # one: CONSOLE
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if interactive else 0

    def say(text: str) -> None:
        _write(sys.stdout, (_wrapped(text, width) if width else text) + "\n")

    if interactive:
        _interactive_input()
        say(card_plain(start_card(engine)))
        _write(
            sys.stdout,
            "(Ctrl-D or /quit to leave; the knowledge files are re-read when they change, "
            "or on /reload)",
        )
    stamp = _knowledge_stamp(settings, engine)
    offered: tuple[str, ...] = tuple(engine.kb.examples)
    language = "en"  # the language of the last question; cards and picks follow it
    while True:
        try:
            line = input("> ") if interactive else sys.stdin.readline()
        except EOFError:
            return 0
        if not interactive and not line:
            return 0
        text = line.strip()
        if text.lower() in QUIT_WORDS:
            return 0
        reply: Reply | None = None
        command = text.split()[0].lower().split("@")[0] if text.startswith("/") else None
        if command == "/reload":
            engine, summary = _console_reload(settings, engine)
            stamp = _knowledge_stamp(settings, engine)
            say(summary)
            continue
        if _knowledge_stamp(settings, engine) != stamp:
            # Saved since the last message: re-read before answering, as the bot's
            # auto_reload would; a broken save is reported once and the old knowledge stays.
            engine, summary = _console_reload(settings, engine)
            stamp = _knowledge_stamp(settings, engine)
            say(summary)
        if command == "/unanswered":  # as Telegram answers an admin in a private chat
            say(unanswered_report(settings.unanswered_file, language))
            continue
        if command is not None or not text:
            # As in Telegram: an unknown command gets the help card, an empty message the
            # greeting.
            if not text or command == "/start":
                card = start_card(engine, language)
            elif command == "/topics":
                card = topics_card(engine, language)
            elif command == "/source":
                card = source_card(engine, language)
            else:
                card = help_card(engine, language=language)
            # A card without questions (/source) keeps the numbers offered before it valid.
            offered = tuple(f.id for f in card.suggestions) or offered
            say(card_plain(card))
            continue
        # isdecimal, not isdigit: int("²") fails; and a few digits at most, since int() of
        # thousands of digits fails too.
        if text.isdecimal() and len(text) <= 3:
            if 1 <= int(text) <= len(offered):
                # A number picks one of the questions offered last, like tapping a button.
                reply = reply_to_fact(engine, offered[int(text) - 1], language)
                if reply is not None and reply.fact is not None:
                    now = time.monotonic()
                    last = conversations.get(CONSOLE, now)
                    conversations.put(CONSOLE, after_fact(last, reply.fact, language, now))
            else:
                say(texts.of(language).pick_a_number.format(count=len(offered)))
                continue
        if reply is None:
            reply = conversations.respond(engine, CONSOLE, text, time.monotonic(), language)
        language = reply.language
        offered = tuple(f.id for f in reply.suggestions) or offered
        say(render_plain(reply))
        if reply.verdict is Verdict.SMALLTALK and reply.intent == "goodbye":
            return 0  # "bye" gets the bot's goodbye, and then the chat ends as it said


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a knowledge file against the article."""
    settings = _settings(args)
    path = Path(args.file) if args.file else settings.facts
    try:
        kb = load_knowledge(path, settings.article)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{path}: {len(exc.problems)} problem(s); not loaded", file=sys.stderr)
        return 1
    for warning in kb.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    phrasings = kb.phrasing_count
    warned = f"; {len(kb.warnings)} warning(s) above" if kb.warnings else ""
    print(
        f"{path}: OK: {len(kb.facts)} facts, {phrasings} phrasings, "
        f"{len(kb.unanswerable)} unanswerable examples, {len(kb.aliases)} aliases{warned}"
    )
    return 0


EVAL_BELOW_GATE = 1
EVAL_ERROR = 2
"""``eval``'s exit status when it cannot run (a bad set, config or previous run, a flag that
does not apply); 1 means only that the set fell below its gate."""


def _eval_gate(args: argparse.Namespace, settings: Settings, dialogue: bool) -> tuple[Gate, str]:
    """The set's gate: the config's entry for it with the --min-* flags in place of its floors
    (an empty Gate: none), and where it comes from; CliError for a floor the set lacks."""
    configured = settings.evaluation.gate_for(Path(args.file))
    flags = {
        "answerable": args.min_answerable,
        "turns": args.min_turns,
        "declined": args.min_declined,
    }
    given = {name: floor for name, floor in flags.items() if floor is not None}
    gate = dataclasses.replace(configured or Gate(), **given)
    kind, figures = ("dialogue", DIALOGUE_FIGURES) if dialogue else ("question", QUESTION_FIGURES)
    for name in gate.floors():
        if name in figures:
            continue
        where = (
            f"--min-{name}"
            if name in given
            else f"{args.config}: evaluation.gates, the entry for {args.file}: {name}"
        )
        raise CliError(
            f"{where}: a {kind} set has no {name} figure (its figures: {', '.join(figures)})"
        )
    source = [args.config] if configured is not None else []
    source += [f"--min-{name}" for name in given]
    return gate, " + ".join(source)


def _percentage(text: str) -> float:
    """A --min-* value: a percentage from 0 to 100 (``96``, ``96.5``, ``96%``)."""
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not (math.isfinite(value) and 0 <= value <= 100):
        raise argparse.ArgumentTypeError(f"a percentage from 0 to 100, not {text!r}")
    return value


def cmd_eval(args: argparse.Namespace) -> int:
    """Run a question or dialogue set, report it and hold it to its gate: exit 1 below it."""
    try:
        return _eval(args)
    except CliError as exc:  # a config or knowledge error too: 1 would read as "below"
        raise CliError(str(exc), EVAL_ERROR) from None


def _eval(args: argparse.Namespace) -> int:
    previous = None
    if args.compare is not None:  # before the engine is built: a typo costs no wait
        try:
            previous = read_previous(Path(args.compare))
        except PreviousRunError as exc:
            raise CliError(str(exc)) from None
    settings = _settings(args)
    engine = _engine(settings)
    path = Path(args.file)
    ids = [f.id for f in engine.kb.facts]
    dialogue = is_dialogue_set(path)
    try:
        dialogues = load_dialogues(path, ids) if dialogue else []
        cases = [] if dialogue else load_cases(path, ids)
    except QuestionSetError as exc:  # a DialogueSetError too
        raise CliError(str(exc)) from None
    gate, source = _eval_gate(args, settings, dialogue)
    result: dict[str, object] = {"set": str(path), "kind": "dialogues" if dialogue else "questions"}
    if dialogue:
        outcomes = run_in_process(engine, dialogues)
        figures = dialogue_figures(outcomes)
        text = format_dialogue_report(outcomes)
        result["figures"] = figures_json(figures)
        result["kinds"] = kinds_json(outcomes)
        listed = turns_json(outcomes)
    else:
        report = evaluate(engine, cases)
        figures = report.figures()
        text = format_report(report)
        result["figures"] = figures_json(figures)
        listed = cases_json(report)
    gated = gate if gate.floors() or gate.per_language is not None else None
    below = shortfalls(figures, gated) if gated is not None else []
    result["gate"] = gate_json(gated, source, below)
    result["cases"] = listed
    comparison = None
    if previous is not None:
        try:
            comparison = compare(previous, result, args.compare)
        except PreviousRunError as exc:
            raise CliError(str(exc)) from None
    verdict = gate_line(gated, source, below)
    if args.json:
        if comparison is not None:
            result["compare"] = comparison_json(comparison)
        _write(sys.stdout, json.dumps(result, indent=2))
        if below:
            _write(sys.stderr, verdict)
    else:
        blocks = [text, *([format_comparison(comparison)] if comparison else []), verdict]
        _write(sys.stdout, "\n".join(blocks))
    return EVAL_BELOW_GATE if below else 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Show why the engine answers or declines a question: every score and the rule."""
    engine = _engine(_settings(args))
    questions = (
        [line.rstrip("\r\n") for line in sys.stdin]
        if args.question == ["-"]
        else [" ".join(args.question)]
    )
    for number, question in enumerate(questions):
        if number:
            _write(sys.stdout, "")
        _write(sys.stdout, engine.explain(question))
    return 0


def _positive(value: str) -> int:
    """An argparse type: a whole number from 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def cmd_unanswered(args: argparse.Namespace) -> int:
    """The questions asked most that went unanswered, each ready to paste as a phrasing.

    FILE defaults to the config's ``logging.unanswered_file``; with neither, exit 2.
    """
    if args.file is not None:
        path = Path(args.file)
    else:
        settings = _settings(args)
        if settings.unanswered_file is None:
            raise CliError(
                "no unanswered-questions file: give FILE, or set "
                f"logging.unanswered_file in {settings.config_path or args.config}",
                2,
            )
        path = settings.unanswered_file
    try:
        summary = read_unanswered(path, days=args.days, top=args.top)
    except UnansweredFileError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        note = summary.skipped_note()
        if note is not None:  # stdout stays one JSON document
            print(note, file=sys.stderr)
        entries = [entry.to_json() for entry in summary.entries]
        _write(sys.stdout, json.dumps(entries, ensure_ascii=False, indent=2))
    else:
        _write(sys.stdout, render_unanswered(summary))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Start the Telegram bot.

    The knowledge base is loaded and validated first, before the Telegram stack is even
    imported: a broken file is refused at once, without touching the network.
    """
    from bot.reloading import KnowledgeHolder  # no Telegram import

    settings = _settings(args)
    try:
        holder = KnowledgeHolder.load(settings.facts, settings.article, settings.matching)
    except KnowledgeError as exc:
        raise CliError(f"knowledge base error:\n{exc}") from None
    from bot.telegram.app import run  # the Telegram stack is only needed here

    return run(settings, holder)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Question-answering bot for one news article."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=str(DEFAULT_CONFIG),
        metavar="PATH",
        help=f"config file (default: {DEFAULT_CONFIG}); paths in it are relative to it",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ask = sub.add_parser("ask", parents=[common], help="answer a question")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("question", nargs="+", help="the question, or - to read one per stdin line")
    ask.set_defaults(func=cmd_ask)
    chat = sub.add_parser("chat", parents=[common], help="console chat with the bot's replies")
    chat.set_defaults(func=cmd_chat)
    check = sub.add_parser("check", parents=[common], help="validate a knowledge file")
    check.add_argument("file", nargs="?", help="knowledge file (default: the config's)")
    check.set_defaults(func=cmd_check)
    ev = sub.add_parser(
        "eval",
        parents=[common],
        help="accuracy on a question set; exit 1 below its gate",
        description="Exit 0: at or above the set's gate (or no gate); 1: below it; 2: error.",
    )
    ev.add_argument(
        "file", help="question set (cases: q, expect, category) or dialogue set (conversations:)"
    )
    for name, what in (
        ("answerable", "answerable cases right (question sets)"),
        ("declined", "near misses, off-topic and chit-chat right (dialogue sets: decline turns)"),
        ("turns", "turns right (dialogue sets)"),
    ):
        ev.add_argument(
            f"--min-{name}",
            type=_percentage,
            metavar="PCT",
            help=f"floor for {what}, in place of the config's (evaluation.gates)",
        )
    ev.add_argument(
        "--json", action="store_true", help="one JSON object: figures, gate, every case"
    )
    ev.add_argument(
        "--compare",
        metavar="PREVIOUS.json",
        help="also list what changed since a run saved with --json",
    )
    ev.set_defaults(func=cmd_eval)
    converse = sub.add_parser(
        "converse", parents=[common], help="conversations as JSON lines (context per id)"
    )
    converse.add_argument(
        "--json", action="store_true", required=True, help="JSON lines in and out (required)"
    )
    converse.add_argument("input", choices=["-"], help="- : read requests from stdin")
    converse.set_defaults(func=cmd_converse)
    explain = sub.add_parser(
        "explain", parents=[common], help="why a question is answered or declined"
    )
    explain.add_argument("question", nargs="+", help="the question, or - for one per stdin line")
    explain.set_defaults(func=cmd_explain)
    unanswered = sub.add_parser(
        "unanswered", parents=[common], help="the most asked unanswered questions, to paste"
    )
    unanswered.add_argument(
        "file", nargs="?", help="unanswered-questions file (default: logging.unanswered_file)"
    )
    unanswered.add_argument(
        "--days",
        type=_positive,
        default=DEFAULT_DAYS,
        metavar="N",
        help=f"only questions of the last N days (default: {DEFAULT_DAYS})",
    )
    unanswered.add_argument(
        "--top",
        type=_positive,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"the N most asked (default: {DEFAULT_TOP})",
    )
    unanswered.add_argument("--json", action="store_true", help="a JSON list, for scripts")
    unanswered.set_defaults(func=cmd_unanswered)
    run = sub.add_parser("run", parents=[common], help="start the Telegram bot")
    run.add_argument("--mode", choices=("polling", "webhook"), help="override telegram.mode")
    run.add_argument("--webhook-url", metavar="URL", help="public HTTPS URL for webhook mode")
    run.add_argument("--listen", metavar="ADDRESS", help="address the webhook server binds")
    run.add_argument("--port", type=int, metavar="PORT", help="port the webhook server binds")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; every error is one message on stderr and a non-zero exit."""
    args = build_parser().parse_args(argv)
    for stream in (sys.stdin, sys.stdout):
        # Undecodable input must never kill a batch: it is replaced, one line still one line.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    reconfigure = getattr(sys.stdin, "reconfigure", None)
    if reconfigure is not None:
        # A line ends at "\n" only, so one input line is one answer even when it holds a lone
        # "\r" (POSIX stdin already behaves so; universal newlines, as on Windows, would not).
        reconfigure(newline="\n")
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
