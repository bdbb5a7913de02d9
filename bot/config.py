"""Settings from ``config/bot.yaml`` and the environment, validated at start."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.matcher import MatchSettings

DEFAULT_CONFIG = Path("config/bot.yaml")
MAX_CONFIG_BYTES = 65_536
_USER_ID = re.compile(r"-?[0-9]{1,20}")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Webhook mode: Telegram posts updates to ``url``; we listen on ``listen:port``."""

    url: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8443
    path: str = "telegram"
    secret_token: str | None = None


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    """The Telegram front end."""

    base_url: str | None = None
    admins: frozenset[int] = frozenset()
    mode: str = "polling"
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    auto_reload: bool = False
    rate_limit_questions: int = 20
    rate_limit_seconds: float = 60.0
    bot_username: str | None = None
    outbox_path: str = "outbox.sqlite3"
    """The outbox file; relative to the config file's folder."""
    outbox_expiry_hours: float = 24.0
    """A reply not delivered within this long is dropped (and logged)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, with paths already resolved."""

    facts: Path
    article: Path
    matching: MatchSettings = field(default_factory=MatchSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    log_level: str = "INFO"
    unanswered_file: Path | None = None
    config_path: Path | None = None


def _expect(value: object, kind: type | tuple[type, ...], key: str) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ConfigError(f"{key} must be a number, not {value!r}")
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ConfigError(f"{key} must be {names}, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, not {value!r}")
    return value


def _section(data: Mapping[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
    value = data.get(key)
    if value is None:  # absent, or written as an empty "key:"
        value = {}
    _expect(value, dict, key)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ConfigError(f"unknown key {key}.{unknown[0]} (known: {', '.join(sorted(allowed))})")
    return dict(value)


def _matching(raw: dict[str, Any]) -> MatchSettings:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(MatchSettings):
        if f.name not in raw:
            continue
        kind: type | tuple[type, ...] = int if f.type in ("int", int) else (int, float)
        value = _expect(raw[f.name], kind, f"matching.{f.name}")
        if value < 0:
            raise ConfigError(f"matching.{f.name} must not be negative")
        values[f.name] = value
    settings = MatchSettings(**values)
    for name in ("answer_threshold", "uncertain_threshold", "token_cutoff", "smalltalk_threshold"):
        if getattr(settings, name) > 100:
            raise ConfigError(f"matching.{name} must be between 0 and 100")
    for name in (
        "fact_word_credit",
        "sibling_word_credit",
        "question_weight",
        "number_penalty",
        "unexplained_penalty",
        "unknown_word_penalty",
        "prefix_share",
        "prefix_similarity",
    ):
        if getattr(settings, name) > 1:
            raise ConfigError(f"matching.{name} must be between 0 and 1")
    if settings.uncertain_threshold > settings.answer_threshold:
        raise ConfigError("matching.uncertain_threshold must not exceed matching.answer_threshold")
    if not 1 <= settings.max_suggestions <= 8:
        raise ConfigError("matching.max_suggestions must be between 1 and 8")
    return settings


def parse_admins(text: str, key: str) -> frozenset[int]:
    """Parse a comma-separated list of Telegram user ids."""
    ids: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        # ASCII digits only: "²".isdigit() is true, but int("²") fails.
        if not _USER_ID.fullmatch(part):
            raise ConfigError(f"{key}: {part!r} is not a numeric Telegram user id")
        ids.add(int(part))
    return frozenset(ids)


def _telegram(raw: dict[str, Any], env: Mapping[str, str]) -> TelegramSettings:
    base_url = raw.get("base_url")
    if base_url is not None:
        _expect(base_url, str, "telegram.base_url")
    base_url = env.get("TELEGRAM_BASE_URL") or base_url
    admins_raw = raw.get("admins")
    if admins_raw is None:
        admins_raw = []
    _expect(admins_raw, list, "telegram.admins")
    admins = frozenset(_expect(a, int, "telegram.admins[]") for a in admins_raw)
    if env.get("BOT_ADMINS") is not None:
        admins = parse_admins(env["BOT_ADMINS"], "BOT_ADMINS")
    mode = env.get("BOT_MODE") or raw.get("mode", "polling")
    if mode not in ("polling", "webhook"):
        raise ConfigError(f"telegram.mode must be 'polling' or 'webhook', not {mode!r}")
    hook = _section(raw, "webhook", {"url", "listen", "port", "path", "secret_token"})
    for key in ("url", "listen", "path", "secret_token"):
        if hook.get(key) is not None:
            _expect(hook[key], str, f"telegram.webhook.{key}")
    port = _expect(hook.get("port", 8443), int, "telegram.webhook.port")
    if not 1 <= port <= 65535:
        raise ConfigError("telegram.webhook.port must be between 1 and 65535")
    webhook = WebhookSettings(
        url=env.get("TELEGRAM_WEBHOOK_URL") or hook.get("url"),
        listen=hook.get("listen") or "127.0.0.1",
        port=port,
        path=hook.get("path") or "telegram",
        secret_token=env.get("TELEGRAM_WEBHOOK_SECRET") or hook.get("secret_token"),
    )
    if mode == "webhook" and not webhook.url:
        raise ConfigError("webhook mode needs telegram.webhook.url (or TELEGRAM_WEBHOOK_URL)")
    if mode == "webhook" and not webhook.secret_token:
        raise ConfigError(
            "webhook mode needs telegram.webhook.secret_token (or TELEGRAM_WEBHOOK_SECRET)"
        )
    auto_reload = _expect(raw.get("auto_reload", False), bool, "telegram.auto_reload")
    limit = _section(raw, "rate_limit", {"questions", "per_seconds"})
    questions = _expect(limit.get("questions", 20), int, "telegram.rate_limit.questions")
    seconds = _expect(limit.get("per_seconds", 60), (int, float), "telegram.rate_limit.per_seconds")
    if questions < 1 or seconds <= 0:
        raise ConfigError("telegram.rate_limit.questions and per_seconds must be positive")
    outbox_path = _expect(raw.get("outbox_path", "outbox.sqlite3"), str, "telegram.outbox_path")
    if not outbox_path.strip():
        raise ConfigError("telegram.outbox_path must not be empty")
    expiry = _expect(
        raw.get("outbox_expiry_hours", 24), (int, float), "telegram.outbox_expiry_hours"
    )
    if expiry <= 0:
        raise ConfigError("telegram.outbox_expiry_hours must be positive")
    return TelegramSettings(
        base_url=base_url,
        admins=admins,
        mode=mode,
        webhook=webhook,
        auto_reload=auto_reload,
        rate_limit_questions=questions,
        rate_limit_seconds=float(seconds),
        outbox_path=outbox_path,
        outbox_expiry_hours=float(expiry),
    )


def load_settings(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read and validate the config file; relative paths resolve against its folder.

    ``overrides`` (dotted keys, e.g. ``telegram.webhook.port``: command-line flags) replace
    the file's values and are validated like them; environment variables win over both.
    """
    env = os.environ if env is None else env
    path = path or DEFAULT_CONFIG
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: YAML syntax error: {getattr(exc, 'problem', exc)}") from None
    if data is None:  # an empty file: every default
        data = {}
    try:
        for dotted, value in (overrides or {}).items():
            if value is None:
                continue
            *parents, last = dotted.split(".")
            node = data
            for part in parents:
                node = node.setdefault(part, {}) if isinstance(node, dict) else node
                _expect(node, dict, ".".join(parents))
            node[last] = value
        _expect(data, dict, "the config's top level")
        unknown = sorted(set(data) - {"knowledge", "matching", "telegram", "logging"})
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]} (known: knowledge, matching, telegram, logging)"
            )
        base = path.parent
        knowledge = _section(data, "knowledge", {"facts", "article"})
        facts = _expect(knowledge.get("facts", "../knowledge/facts.yaml"), str, "knowledge.facts")
        article = _expect(
            knowledge.get("article", "../knowledge/article.txt"), str, "knowledge.article"
        )
        match_keys = {f.name for f in dataclasses.fields(MatchSettings)}
        matching = _matching(_section(data, "matching", match_keys))
        telegram = _telegram(
            _section(
                data,
                "telegram",
                {
                    "base_url",
                    "admins",
                    "mode",
                    "webhook",
                    "auto_reload",
                    "rate_limit",
                    "outbox_path",
                    "outbox_expiry_hours",
                },
            ),
            env,
        )
        logging_raw = _section(data, "logging", {"level", "unanswered_file"})
        level = str(env.get("BOT_LOG_LEVEL") or logging_raw.get("level", "INFO")).upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"logging.level must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
        unanswered = logging_raw.get("unanswered_file")
        if unanswered is not None:
            _expect(unanswered, str, "logging.unanswered_file")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return Settings(
        facts=(base / facts).resolve(),
        article=(base / article).resolve(),
        matching=matching,
        telegram=telegram,
        log_level=level,
        unanswered_file=(base / unanswered).resolve() if unanswered else None,
        config_path=path.resolve(),
    )
