"""Command line: ``python -m bot {ask,chat,converse,check,eval,explain,run}``."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot import texts
from bot.config import DEFAULT_CONFIG, ConfigError, Settings, load_settings
from bot.conversation import Conversations, after_fact, respond
from bot.dialogues import (
    format_dialogue_report,
    is_dialogue_set,
    load_dialogues,
    run_in_process,
)
from bot.evaluation import QuestionSetError, evaluate, format_report, load_cases
from bot.knowledge import KnowledgeError, load_knowledge
from bot.replies import (
    Engine,
    Reply,
    help_card,
    render_plain,
    reply_to_fact,
    settle,
    source_card,
    start_card,
    to_json,
    topics_card,
)


class CliError(Exception):
    """A problem to report on stderr as one message, with exit status 1."""


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
        kb = load_knowledge(settings.facts, settings.article)
    except KnowledgeError as exc:
        raise CliError(f"knowledge base error:\n{exc}") from None
    engine = Engine.build(kb, settings.matching)
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
        say(start_card(engine).plain())
        _write(sys.stdout, "(Ctrl-D or /quit to leave; /reload re-reads the knowledge files)")
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
            say(summary)
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
            say(card.plain())
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
                say(texts.text("PICK_A_NUMBER", language).format(count=len(offered)))
                continue
        if reply is None:
            reply = conversations.respond(engine, CONSOLE, text, time.monotonic(), language)
        language = reply.language
        offered = tuple(f.id for f in reply.suggestions) or offered
        say(render_plain(reply))


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
    phrasings = kb.phrasing_count
    print(
        f"{path}: OK: {len(kb.facts)} facts, {phrasings} phrasings, "
        f"{len(kb.unanswerable)} unanswerable examples, {len(kb.aliases)} aliases"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Run a question set and report accuracy per category and every wrong case."""
    engine = _engine(_settings(args))
    path = Path(args.file)
    ids = [f.id for f in engine.kb.facts]
    try:
        if is_dialogue_set(path):
            print(format_dialogue_report(run_in_process(engine, load_dialogues(path, ids))))
            return 0
        cases = load_cases(path, ids)
    except QuestionSetError as exc:  # a DialogueSetError too
        raise CliError(str(exc)) from None
    print(format_report(evaluate(engine, cases)))
    return 0


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
    ev = sub.add_parser("eval", parents=[common], help="accuracy on a question set")
    ev.add_argument(
        "file", help="question set (cases: q, expect, category) or dialogue set (conversations:)"
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
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
