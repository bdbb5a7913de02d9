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
from urllib.parse import urlsplit

from bot import safe_yaml
from bot.match_settings import MatchSettings
from bot.safe_yaml import shown

DEFAULT_CONFIG = Path("config/bot.yaml")
MAX_CONFIG_BYTES = 65_536
MAX_CONFIG_NODES = 10_000
"""The shipped config has about a hundred; far more is a mistake or an attack."""
_USER_ID = re.compile(r"-?[0-9]{1,20}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""Telegram's rule for setWebhook's secret_token; it refuses anything else at start."""
WEBHOOK_PORTS = (443, 80, 88, 8443)
"""The only ports Telegram's own servers post webhooks to (a local Bot API server: any)."""


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
    outbox_path: str = "outbox.sqlite3"
    """The outbox file; relative to the config file's folder."""
    outbox_expiry_hours: float = 24.0
    """A reply not delivered within this long is dropped (and logged)."""


GATE_FIGURES = ("answerable", "turns", "declined")
"""The figures a gate can put a floor on: a question set's answerable and declined share
(near misses, off-topic and chit-chat together), a dialogue set's turns and declines."""


@dataclass(frozen=True, slots=True)
class Gate:
    """Floors (percent, 0-100) an evaluation set must reach; None: that figure is free.

    ``per_language`` holds each language's figures (those the overall floors name) too.
    """

    answerable: float | None = None
    declined: float | None = None
    turns: float | None = None
    per_language: float | None = None

    def floors(self) -> dict[str, float]:
        """The overall floors that are set, by figure, in :data:`GATE_FIGURES` order."""
        return {name: floor for name in GATE_FIGURES if (floor := getattr(self, name)) is not None}


@dataclass(frozen=True, slots=True)
class EvaluationSettings:
    """``evaluation:``: the floors ``python -m bot eval`` and the accuracy tests hold sets to."""

    gates: tuple[tuple[Path, Gate], ...] = ()
    """(resolved path of the set, its gate), in the config's order."""

    def gate_for(self, path: Path) -> Gate | None:
        """The gate of the set at ``path`` (compared resolved), if the config has one."""
        wanted = path.resolve()
        return next((gate for where, gate in self.gates if where == wanted), None)


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
    context_minutes: float = 10.0
    """How long a conversation's last question and answer serve follow-ups."""
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)

    @property
    def outbox_file(self) -> Path:
        """``telegram.outbox_path``, relative to the config file's folder."""
        base = self.config_path.parent if self.config_path is not None else Path.cwd()
        return base / self.telegram.outbox_path

    @property
    def heartbeat_file(self) -> Path:
        """Beside the outbox; the running bot touches it while it polls or serves the webhook
        (``deploy/healthcheck.py`` reads its age)."""
        return self.outbox_file.with_name(self.outbox_file.name + ".alive")


def _default(cls: type, name: str) -> Any:
    """The default of field ``name`` of the settings dataclass ``cls``: the one source of a
    setting's default, used when the file leaves the key out."""
    for f in dataclasses.fields(cls):
        if f.name == name and f.default is not dataclasses.MISSING:
            return f.default
    raise KeyError(f"{cls.__name__}.{name} has no plain default")


def _expect(value: object, kind: type | tuple[type, ...], key: str) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ConfigError(f"{key} must be a number, not {value!r}")
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ConfigError(f"{key} must be {names}, not {shown(value)}")
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
    if not ids:
        # BOT_ADMINS="" is a deployment that meant to name admins and lost them on the way
        # (an unset variable in an env file); silently running without admins hides that.
        raise ConfigError(
            f"{key} is set but lists no user ids; list them (comma-separated) or unset it"
        )
    return frozenset(ids)


def _webhook_url(url: str, key: str, local_api: bool) -> str:
    """``url`` if Telegram can post to it: https, a host, and (for Telegram's own servers)
    one of :data:`WEBHOOK_PORTS`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{key} is not a valid URL: {shown(url)}") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ConfigError(
            f"{key} must be an https:// URL (Telegram posts only over HTTPS), not {shown(url)}"
        )
    if port is not None and port not in WEBHOOK_PORTS and not local_api:
        ports = ", ".join(str(p) for p in WEBHOOK_PORTS)
        raise ConfigError(f"{key}: Telegram posts webhooks only to ports {ports}, not {port}")
    return url


def _secret_token(secret: str, key: str) -> str:
    if not _SECRET_TOKEN.fullmatch(secret):
        # The value itself is never shown: it is a secret, and this message is logged.
        raise ConfigError(
            f"{key} must be 1 to 256 characters, each A-Z, a-z, 0-9, _ or - "
            f"(Telegram's rule; this one has {len(secret)} characters)"
        )
    return secret


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
    mode = env.get("BOT_MODE") or raw.get("mode", _default(TelegramSettings, "mode"))
    if mode not in ("polling", "webhook"):
        raise ConfigError(f"telegram.mode must be 'polling' or 'webhook', not {mode!r}")
    hook = _section(raw, "webhook", {"url", "listen", "port", "path", "secret_token"})
    for key in ("url", "listen", "path", "secret_token"):
        if hook.get(key) is not None:
            _expect(hook[key], str, f"telegram.webhook.{key}")
    port = _expect(
        hook.get("port", _default(WebhookSettings, "port")), int, "telegram.webhook.port"
    )
    if not 1 <= port <= 65535:
        raise ConfigError("telegram.webhook.port must be between 1 and 65535")
    url, url_key = env.get("TELEGRAM_WEBHOOK_URL"), "TELEGRAM_WEBHOOK_URL"
    if not url:
        url, url_key = hook.get("url"), "telegram.webhook.url"
    if url:
        _webhook_url(url, url_key, local_api=base_url is not None)
    secret, secret_key = env.get("TELEGRAM_WEBHOOK_SECRET"), "TELEGRAM_WEBHOOK_SECRET"
    if not secret:
        secret, secret_key = hook.get("secret_token"), "telegram.webhook.secret_token"
    if secret:
        _secret_token(secret, secret_key)
    webhook = WebhookSettings(
        url=url or None,
        listen=hook.get("listen") or _default(WebhookSettings, "listen"),
        port=port,
        path=hook.get("path") or _default(WebhookSettings, "path"),
        secret_token=secret or None,
    )
    if mode == "webhook" and not webhook.url:
        raise ConfigError("webhook mode needs telegram.webhook.url (or TELEGRAM_WEBHOOK_URL)")
    if mode == "webhook" and not webhook.secret_token:
        raise ConfigError(
            "webhook mode needs telegram.webhook.secret_token (or TELEGRAM_WEBHOOK_SECRET)"
        )
    auto_reload = _expect(
        raw.get("auto_reload", _default(TelegramSettings, "auto_reload")),
        bool,
        "telegram.auto_reload",
    )
    limit = _section(raw, "rate_limit", {"questions", "per_seconds"})
    questions = _expect(
        limit.get("questions", _default(TelegramSettings, "rate_limit_questions")),
        int,
        "telegram.rate_limit.questions",
    )
    seconds = _expect(
        limit.get("per_seconds", _default(TelegramSettings, "rate_limit_seconds")),
        (int, float),
        "telegram.rate_limit.per_seconds",
    )
    if questions < 1 or seconds <= 0:
        raise ConfigError("telegram.rate_limit.questions and per_seconds must be positive")
    outbox_key = "BOT_OUTBOX_PATH" if env.get("BOT_OUTBOX_PATH") is not None else None
    outbox_path = (
        env["BOT_OUTBOX_PATH"]
        if outbox_key
        else _expect(
            raw.get("outbox_path", _default(TelegramSettings, "outbox_path")),
            str,
            "telegram.outbox_path",
        )
    )
    if not outbox_path.strip():
        raise ConfigError(f"{outbox_key or 'telegram.outbox_path'} must not be empty")
    expiry = _expect(
        raw.get("outbox_expiry_hours", _default(TelegramSettings, "outbox_expiry_hours")),
        (int, float),
        "telegram.outbox_expiry_hours",
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


def _evaluation(raw: dict[str, Any], base: Path) -> EvaluationSettings:
    gates_raw = raw.get("gates")
    if gates_raw is None:
        gates_raw = {}
    _expect(gates_raw, dict, "evaluation.gates")
    keys = {*GATE_FIGURES, "per_language"}
    gates: list[tuple[Path, Gate]] = []
    for name, floors in gates_raw.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"evaluation.gates: {shown(name)} is not a path to a set")
        where = f"evaluation.gates[{name}]"
        _expect(floors, dict, where)
        unknown = sorted(set(floors) - keys)
        if unknown:
            raise ConfigError(
                f"unknown key {where}.{unknown[0]} (known: {', '.join(sorted(keys))})"
            )
        if not floors:
            raise ConfigError(f"{where} sets no floor (known: {', '.join(sorted(keys))})")
        for key, floor in floors.items():
            _expect(floor, (int, float), f"{where}.{key}")
            if not 0 <= floor <= 100:
                raise ConfigError(
                    f"{where}.{key} must be a percentage from 0 to 100, not {floor!r}"
                )
        # Not required to exist: a deployment ships without the evaluation sets.
        path = (base / name).resolve()
        if any(path == seen for seen, _ in gates):
            raise ConfigError(f"{where}: a second gate for {path}")
        gates.append((path, Gate(**{k: float(v) for k, v in floors.items()})))
    return EvaluationSettings(gates=tuple(gates))


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
    # Read like the knowledge file: a regular file only (a FIFO or /dev/zero would hang the
    # start), within a size limit, through the project's safe YAML loader (no aliases, so a
    # few hundred bytes cannot expand into gigabytes).
    try:
        raw = safe_yaml.read_limited(path, MAX_CONFIG_BYTES, "config file")
        data = safe_yaml.load(safe_yaml.decode(raw, "config file"), MAX_CONFIG_NODES)
    except safe_yaml.YAMLFileError as exc:
        issue = exc.issues[0]
        where = str(path) if issue.line is None else f"{path}:{issue.line}"
        raise ConfigError(f"{where}: {issue.message}") from None
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
        sections = ("knowledge", "matching", "conversation", "telegram", "logging", "evaluation")
        unknown = sorted(set(data) - set(sections))
        if unknown:
            raise ConfigError(f"unknown key {unknown[0]} (known: {', '.join(sections)})")
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
        conversation = _section(data, "conversation", {"context_minutes"})
        minutes = _expect(
            conversation.get("context_minutes", _default(Settings, "context_minutes")),
            (int, float),
            "conversation.context_minutes",
        )
        if not 0 <= minutes <= 24 * 60:
            raise ConfigError(
                f"conversation.context_minutes must be from 0 to 1440, not {minutes!r}"
            )
        logging_raw = _section(data, "logging", {"level", "unanswered_file"})
        level = str(
            env.get("BOT_LOG_LEVEL") or logging_raw.get("level", _default(Settings, "log_level"))
        ).upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"logging.level must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
        unanswered = logging_raw.get("unanswered_file")
        if unanswered is not None:
            _expect(unanswered, str, "logging.unanswered_file")
        evaluation = _evaluation(_section(data, "evaluation", {"gates"}), base)
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
        context_minutes=float(minutes),
        evaluation=evaluation,
    )
