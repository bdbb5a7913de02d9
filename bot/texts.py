"""Interface texts of the bot (everything it says that is not a fact of the article)."""

from __future__ import annotations

from bot.translations import TRANSLATED

NO_ANSWER = "The article doesn't say."
NO_ANSWER_SUGGEST = "The article doesn't say. Here is what I can answer:"
UNCERTAIN_SUGGEST = "Not what you meant? Try one of these:"
SUGGEST_PLAIN_HINT = "(type a number to ask it)"
SMALLTALK = {
    "greeting": "Hello! Ask me anything about the article: who met, what they discussed, "
    "trade figures, joint projects or investors.",
    "thanks": "You're welcome! Ask me anything else about the article.",
    "goodbye": "Goodbye! Come back with more questions about the article any time.",
    "help": "I answer questions about one news article. Ask in your own words, for example:",
    "ack": "Anything else you'd like to know about the article?",
    "about": "I am a bot that answers questions about one news article, quoting the sentence "
    "that proves each answer.",
    # Questions about the bot as if it were a person (its age, home, family, feelings, pay).
    "self": "I'm only a bot: no age, home, family or feelings of my own. What I do know is one "
    "news article; ask me about it.",
    # Requests beyond an article (a joke, a song), moods, wishes, insults.
    "chatter": "That's beyond me: all I know is one news article. Ask me about it, for "
    "example who met or what they discussed.",
}
SOURCE_LINE = "Source: {outlet}, {date}"
NON_TEXT = "I can only answer text questions about the article. Please type your question."
ERROR = "Sorry, something went wrong while answering. Please try again."
RATE_LIMITED = "You are sending questions too quickly. Please wait a moment and try again."
NOT_ADMIN = "Sorry, only the bot's administrators can do that."
FACT_GONE = (
    "That question is no longer available: the knowledge base has changed. Try one of these:"
)
START_TITLE = "Ask me about this article"
START_BODY = (
    "I know {facts} facts from it and quote the sentence behind every answer. "
    "Type a question in your own words, or try one of these:"
)
HELP_TITLE = "How to use this bot"
HELP_BODY = (
    "Ask any question about the article in your own words; I answer with the sentence "
    "that proves it, or say when the article doesn't cover it."
)
HELP_GROUPS = (
    "In groups, mention me or reply to my message. In any chat, type my @username "
    "followed by a question (inline mode)."
)
SUGGEST_ONLY = "Here is what I can answer:"
NEARBY = "The article doesn't say that. Nearest, it says: {answer}"
PICK_A_NUMBER = "Type a number from 1 to {count} to pick a question, or ask your own."
PART_NOT_COVERED = "The article doesn't say: “{part}”"
TOPICS_TITLE = "I can answer {facts} questions, for example:"
SOURCE_TITLE = "The article"
SOURCE_FIELDS = "Title|Outlet|Author|Date|Link"
CMD_START = "What this bot knows, with example questions"
CMD_HELP = "How to ask, and every command"
CMD_TOPICS = "Everything the bot can answer"
CMD_SOURCE = "The article: title, outlet, author, date"
CMD_RELOAD = "Re-read and validate the knowledge file (admins only)"
CMD_UNANSWERED = "The questions asked most that the bot could not answer (admins only)"
UNANSWERED_TITLE = "Unanswered questions of the last {days} days"
UNANSWERED_SUMMARY = (
    "{asked} asked, {distinct} different; most asked first. To teach the bot one, paste its "
    "line under a fact's questions: in the knowledge file, then /reload."
)
UNANSWERED_ENTRY = "{count}\u00d7 · {language} · last asked {last}"  # "3 times" sign
UNANSWERED_MORE = "{count} more not shown."
UNANSWERED_EMPTY = "No unanswered questions in the last {days} days."
UNANSWERED_OLDER = "{count} older ones fall outside that window."
UNANSWERED_SKIPPED = "{count} lines skipped (not unanswered-question records): first at line {line}"
UNANSWERED_SKIPPED_ONE = "1 line skipped (not an unanswered-question record): line {line}"
UNANSWERED_NO_FILE = (
    "No unanswered-questions file is configured: set logging.unanswered_file in the bot's "
    "config file."
)
UNANSWERED_NOT_YET = "No unanswered questions recorded yet."
UNANSWERED_UNREADABLE = "Cannot read the unanswered-questions file: {error}"
UNANSWERED_PRIVATE_ONLY = (
    "The list holds other people's questions: send me /unanswered in a private chat."
)

ENGLISH: dict[str, str] = {
    name: value for name, value in globals().items() if name.isupper() and isinstance(value, str)
}
ENGLISH.update({f"SMALLTALK.{intent}": value for intent, value in SMALLTALK.items()})

TRANSLATIONS: dict[str, dict[str, str]] = {"en": ENGLISH, **TRANSLATED}


def text(key: str, language: str = "en") -> str:
    """The interface text ``key`` in ``language``, falling back to English.

    A translation may set a key to "" where its other texts already say it (a Turkish
    HELP_BODY that covers groups has no separate HELP_GROUPS line).
    """
    found = TRANSLATIONS.get(language, ENGLISH).get(key)
    return ENGLISH[key] if found is None else found
