"""The fixed replies (/start, /help, /topics, /source) as cards: a heading, lines and the
questions they offer; :mod:`bot.render_plain` and :mod:`bot.render_html` render them."""

from __future__ import annotations

from dataclasses import dataclass

from bot import texts
from bot.commands import command_menu
from bot.engine import Engine
from bot.knowledge_model import Fact
from bot.wording import suggestion_label


@dataclass(frozen=True, slots=True)
class Card:
    """A fixed reply (/start, /help, /topics, /source): heading, lines and offered questions."""

    title: str
    lines: tuple[str, ...]
    suggestions: tuple[Fact, ...] = ()
    language: str = "en"

    def labels(self) -> tuple[str, ...]:
        """The offered questions in the card's language."""
        return tuple(suggestion_label(f, self.language) for f in self.suggestions)


def start_card(engine: Engine, language: str = "en") -> Card:
    """Greeting: what the bot knows and three example questions."""
    source = engine.kb.source
    said = texts.of(language)
    return Card(
        said.start_title,
        (
            f"{source.title} ({source.outlet}, {source.date}).",
            said.start_body.format(facts=len(engine.kb.facts)),
        ),
        engine.kb.example_facts,
        language,
    )


def help_card(engine: Engine, admin: bool = False, language: str = "en") -> Card:
    """How to use the bot and every command."""
    commands = command_menu(language, admin)
    said = texts.of(language)
    return Card(
        said.help_title,
        (
            *(line for line in (said.help_body, said.help_groups) if line),
            *(f"/{name} - {description}" for name, description in commands),
        ),
        engine.kb.example_facts,
        language,
    )


def topics_card(engine: Engine, language: str = "en") -> Card:
    """Every fact the bot can answer, one question each."""
    return Card(
        texts.of(language).topics_title.format(facts=len(engine.kb.facts)),
        tuple(f"- {suggestion_label(f, language)}" for f in engine.kb.facts),
        engine.kb.facts,
        language,
    )


def source_card(engine: Engine, language: str = "en") -> Card:
    """Title, outlet, author and date of the article."""
    source = engine.kb.source
    said = texts.of(language)
    label = said.source
    lines = [
        f"{label.title}: {source.title}",
        f"{label.outlet}: {source.outlet}",
        f"{label.author}: {source.author}",
        f"{label.date}: {source.date}",
    ]
    if source.url:
        lines.append(f"{label.link}: {source.url}")
    return Card(said.source_title, tuple(lines), (), language)
