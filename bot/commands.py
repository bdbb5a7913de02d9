"""The bot's commands: which there are, and the command menu that describes them."""

from __future__ import annotations

from bot import texts

COMMANDS: tuple[str, ...] = ("start", "help", "topics", "source")
ADMIN_COMMANDS: tuple[str, ...] = ("reload", "unanswered")


def command_menu(language: str = "en", admin: bool = False) -> tuple[tuple[str, str], ...]:
    """(command, description) pairs for the command menu and /help, in ``language``."""
    names = COMMANDS + (ADMIN_COMMANDS if admin else ())
    described = texts.of(language).commands
    return tuple((name, described[name]) for name in names)
