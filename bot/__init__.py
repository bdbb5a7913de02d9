"""Question-answering bot for one news article: knowledge base, matcher, console and Telegram."""

__version__ = "0.1.0"
