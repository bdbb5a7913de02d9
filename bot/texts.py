"""Interface texts of the bot (everything it says that is not a fact of the article)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class SourceLabels:
    """The labels of the /source card's lines."""

    title: str
    outlet: str
    author: str
    date: str
    link: str


@dataclass(frozen=True, slots=True)
class Texts:
    """Every interface text in one language; :func:`of` gives a language's.

    A translation may set a text to "" where its other texts already say it (a Turkish
    ``help_body`` that covers groups has no separate ``help_groups`` line).
    """

    no_answer: str
    no_answer_suggest: str
    uncertain_suggest: str
    suggest_plain_hint: str
    smalltalk: Mapping[str, str]
    """Small-talk reply per intent (``bot.knowledge_checks.INTENTS``)."""
    source_line: str
    non_text: str
    error: str
    rate_limited: str
    not_admin: str
    fact_gone: str
    start_title: str
    start_body: str
    help_title: str
    help_body: str
    help_groups: str
    suggest_only: str
    nearby: str
    pick_a_number: str
    part_not_covered: str
    topics_title: str
    source_title: str
    source: SourceLabels
    commands: Mapping[str, str]
    """Command-menu description per command (``bot.commands.COMMANDS + ADMIN_COMMANDS``)."""
    unanswered_title: str
    unanswered_summary: str
    unanswered_entry: str
    unanswered_more: str
    unanswered_empty: str
    unanswered_older: str
    unanswered_skipped: str
    unanswered_skipped_one: str
    unanswered_no_file: str
    unanswered_not_yet: str
    unanswered_unreadable: str
    unanswered_private_only: str


ENGLISH = Texts(
    no_answer="The article doesn't say.",
    no_answer_suggest="The article doesn't say. Here is what I can answer:",
    uncertain_suggest="Not what you meant? Try one of these:",
    suggest_plain_hint="(type a number to ask it)",
    smalltalk=MappingProxyType(
        {
            "greeting": "Hello! Ask me anything about the article: who met, what they discussed, "
            "trade figures, joint projects or investors.",
            "thanks": "You're welcome! Ask me anything else about the article.",
            "goodbye": "Goodbye! Come back with more questions about the article any time.",
            "help": "I answer questions about one news article. Ask in your own words, for "
            "example:",
            "ack": "Anything else you'd like to know about the article?",
            "about": "I am a bot that answers questions about one news article, quoting the "
            "sentence that proves each answer.",
            # Questions about the bot as if it were a person (its age, home, family, feelings, pay).
            "self": "I'm only a bot: no age, home, family or feelings of my own. What I do know "
            "is one news article; ask me about it.",
            # Requests beyond an article (a joke, a song), moods, wishes, insults.
            "chatter": "That's beyond me: all I know is one news article. Ask me about it, for "
            "example who met or what they discussed.",
        }
    ),
    source_line="Source: {outlet}, {date}",
    non_text="I can only answer text questions about the article. Please type your question.",
    error="Sorry, something went wrong while answering. Please try again.",
    rate_limited="You are sending questions too quickly. Please wait a moment and try again.",
    not_admin="Sorry, only the bot's administrators can do that.",
    fact_gone=(
        "That question is no longer available: the knowledge base has changed. Try one of these:"
    ),
    start_title="Ask me about this article",
    start_body=(
        "I know {facts} facts from it and quote the sentence behind every answer. "
        "Type a question in your own words, or try one of these:"
    ),
    help_title="How to use this bot",
    help_body=(
        "Ask any question about the article in your own words; I answer with the sentence "
        "that proves it, or say when the article doesn't cover it."
    ),
    help_groups=(
        "In groups, mention me or reply to my message. In any chat, type my @username "
        "followed by a question (inline mode)."
    ),
    suggest_only="Here is what I can answer:",
    nearby="The article doesn't say that. Nearest, it says: {answer}",
    pick_a_number="Type a number from 1 to {count} to pick a question, or ask your own.",
    part_not_covered="The article doesn't say: “{part}”",
    topics_title="I can answer {facts} questions, for example:",
    source_title="The article",
    source=SourceLabels(title="Title", outlet="Outlet", author="Author", date="Date", link="Link"),
    commands=MappingProxyType(
        {
            "start": "What this bot knows, with example questions",
            "help": "How to ask, and every command",
            "topics": "Everything the bot can answer",
            "source": "The article: title, outlet, author, date",
            "reload": "Re-read and validate the knowledge file (admins only)",
            "unanswered": "The questions asked most that the bot could not answer (admins only)",
        }
    ),
    unanswered_title="Unanswered questions of the last {days} days",
    unanswered_summary=(
        "{asked} asked, {distinct} different; most asked first. To teach the bot one, paste its "
        "line under a fact's questions: in the knowledge file, then /reload."
    ),
    unanswered_entry="{count}\u00d7 · {language} · last asked {last}",  # "3 times" sign
    unanswered_more="{count} more not shown.",
    unanswered_empty="No unanswered questions in the last {days} days.",
    unanswered_older="{count} older ones fall outside that window.",
    unanswered_skipped=(
        "{count} lines skipped (not unanswered-question records): first at line {line}"
    ),
    unanswered_skipped_one="1 line skipped (not an unanswered-question record): line {line}",
    unanswered_no_file=(
        "No unanswered-questions file is configured: set logging.unanswered_file in the bot's "
        "config file."
    ),
    unanswered_not_yet="No unanswered questions recorded yet.",
    unanswered_unreadable="Cannot read the unanswered-questions file: {error}",
    unanswered_private_only=(
        "The list holds other people's questions: send me /unanswered in a private chat."
    ),
)


def of(language: str) -> Texts:
    """The interface texts in ``language``; English for a language without translation."""
    return _by_language().get(language, ENGLISH)


@functools.cache
def _by_language() -> Mapping[str, Texts]:
    # Imported here, not at the top: bot.translations builds its texts from the classes above.
    from bot.translations import AZERBAIJANI, RUSSIAN, TURKISH

    return MappingProxyType({"en": ENGLISH, "tr": TURKISH, "az": AZERBAIJANI, "ru": RUSSIAN})
