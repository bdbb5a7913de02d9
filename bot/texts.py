"""Interface texts of the bot (everything it says that is not a fact of the article)."""

from __future__ import annotations

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
}
SOURCE_LINE = "Source: {outlet}, {date}"
NON_TEXT = "I can only answer text questions about the article. Please type your question."
ERROR = "Sorry, something went wrong while answering. Please try again."
RATE_LIMITED = "You are sending questions too quickly. Please wait a moment and try again."
NOT_ADMIN = "Sorry, only the bot's administrators can do that."
FACT_GONE = (
    "That question is no longer available: the knowledge base has changed. Try one of these:"
)
