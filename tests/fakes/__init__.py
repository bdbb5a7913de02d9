"""Test doubles for the Telegram Bot API (no network)."""
