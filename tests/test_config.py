"""Settings: ``config/bot.yaml`` and the environment, validated at start."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings, parse_admins
from bot.match_settings import MatchSettings

ROOT = Path(__file__).resolve().parent.parent


def load(tmp_path: Path, text: str, **env: str) -> Settings:
    path = tmp_path / "conf" / "bot.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env=env)


def refused(tmp_path: Path, text: str, **env: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, **env)
    message = str(info.value)
    assert str(tmp_path / "conf" / "bot.yaml") in message  # every message names the file
    return message


# --- what loads ----------------------------------------------------------------------------


def test_repository_config_loads() -> None:
    settings = load_settings(ROOT / "config" / "bot.yaml", env={})
    assert settings.facts == ROOT / "knowledge" / "facts.yaml"
    assert settings.article == ROOT / "knowledge" / "article.txt"
    assert settings.telegram.mode == "polling"
    assert settings.config_path == ROOT / "config" / "bot.yaml"


@pytest.mark.parametrize("text", ["", "# nothing\n", "knowledge:\nmatching:\ntelegram:\n"])
def test_empty_config_means_defaults(tmp_path: Path, text: str) -> None:
    settings = load(tmp_path, text)
    assert settings.facts == (tmp_path / "knowledge" / "facts.yaml").resolve()
    assert settings.article == (tmp_path / "knowledge" / "article.txt").resolve()
    assert settings.matching == MatchSettings()
    assert settings.telegram.admins == frozenset()
    assert settings.log_level == "INFO"
    assert settings.unanswered_file is None


def test_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path.parent)
    settings = load(
        tmp_path,
        "knowledge:\n  facts: kb/facts.yaml\n  article: /abs/article.txt\n"
        "logging:\n  unanswered_file: ../logs/unanswered.jsonl\n",
    )
    assert settings.facts == (tmp_path / "conf" / "kb" / "facts.yaml").resolve()
    assert settings.article == Path("/abs/article.txt")
    assert settings.unanswered_file == (tmp_path / "logs" / "unanswered.jsonl").resolve()


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load(tmp_path, "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.log_level = "DEBUG"  # type: ignore[misc]


def test_matching_values_are_read(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "matching:\n  answer_threshold: 70\n  uncertain_threshold: 55.5\n  max_suggestions: 5\n",
    )
    assert settings.matching.answer_threshold == 70
    assert settings.matching.uncertain_threshold == 55.5
    assert settings.matching.max_suggestions == 5


# --- unknown keys and wrong types ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "piece"),
    [
        ("knowlege: {}\n", "unknown key knowlege"),
        ("knowledge:\n  fact: a.yaml\n", "unknown key knowledge.fact"),
        ("matching:\n  answer_treshold: 60\n", "unknown key matching.answer_treshold"),
        ("telegram:\n  token: secret\n", "unknown key telegram.token"),
        ("telegram:\n  webhook:\n    host: x\n", "unknown key webhook.host"),
        ("telegram:\n  rate_limit:\n    per_minute: 3\n", "unknown key rate_limit.per_minute"),
        ("logging:\n  file: x.log\n", "unknown key logging.file"),
    ],
)
def test_unknown_keys(tmp_path: Path, text: str, piece: str) -> None:
    assert piece in refused(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "piece"),
    [
        ("- a\n- b\n", "the config's top level must be dict"),
        ("42\n", "the config's top level must be dict"),
        ("knowledge: [a, b]\n", "knowledge must be dict"),
        ("matching: []\n", "matching must be dict"),
        ("telegram: false\n", "telegram must be dict"),
        ("knowledge:\n  facts: 5\n", "knowledge.facts must be str"),
        ("knowledge:\n  article: [a]\n", "knowledge.article must be str"),
        ("matching:\n  answer_threshold: high\n", "matching.answer_threshold must be"),
        ("matching:\n  answer_threshold: true\n", "matching.answer_threshold must be a number"),
        ("matching:\n  max_suggestions: 2.5\n", "matching.max_suggestions must be int"),
        ("telegram:\n  base_url: 5\n", "telegram.base_url must be str"),
        ("telegram:\n  admins: 12345\n", "telegram.admins must be list"),
        ("telegram:\n  admins: ''\n", "telegram.admins must be list"),
        ("telegram:\n  admins: [abc]\n", "telegram.admins[] must be int"),
        ("telegram:\n  admins: [true]\n", "telegram.admins[] must be a number"),
        ("telegram:\n  auto_reload: 'yes'\n", "telegram.auto_reload must be bool"),
        ("telegram:\n  webhook:\n    port: '8443'\n", "telegram.webhook.port must be int"),
        ("telegram:\n  webhook:\n    url: 5\n", "telegram.webhook.url must be str"),
        ("telegram:\n  rate_limit:\n    questions: 1.5\n", "rate_limit.questions must be int"),
        ("logging:\n  unanswered_file: 5\n", "logging.unanswered_file must be str"),
    ],
)
def test_wrong_types(tmp_path: Path, text: str, piece: str) -> None:
    assert piece in refused(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "piece"),
    [
        ("telegram:\n  webhook:\n    port: 0\n", "port must be between 1 and 65535"),
        ("telegram:\n  webhook:\n    port: 65536\n", "port must be between 1 and 65535"),
        ("telegram:\n  rate_limit:\n    questions: 0\n", "must be positive"),
        ("telegram:\n  rate_limit:\n    per_seconds: -1\n", "must be positive"),
        ("telegram:\n  rate_limit:\n    per_seconds: .nan\n", "must be a finite number"),
        ("logging:\n  level: VERBOSE\n", "logging.level must be DEBUG, INFO, WARNING or ERROR"),
    ],
)
def test_bad_values(tmp_path: Path, text: str, piece: str) -> None:
    assert piece in refused(tmp_path, text)


# --- thresholds ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "piece"),
    [
        ("answer_threshold", "101", "between 0 and 100"),
        ("answer_threshold", "-1", "must not be negative"),
        ("token_cutoff", "150", "between 0 and 100"),
        ("smalltalk_threshold", "100.5", "between 0 and 100"),
        ("fact_word_credit", "1.5", "between 0 and 1"),
        ("question_weight", "-0.1", "must not be negative"),
        ("max_suggestions", "0", "between 1 and 8"),
        ("max_suggestions", "9", "between 1 and 8"),
        ("answer_threshold", ".nan", "finite number"),
        ("uncertain_threshold", ".inf", "finite number"),
        ("min_margin", "-.inf", "finite number"),
    ],
)
def test_thresholds_out_of_range(tmp_path: Path, key: str, value: str, piece: str) -> None:
    message = refused(tmp_path, f"matching:\n  {key}: {value}\n")
    assert f"matching.{key}" in message
    assert piece in message


def test_uncertain_threshold_may_not_exceed_answer_threshold(tmp_path: Path) -> None:
    message = refused(tmp_path, "matching:\n  answer_threshold: 60\n  uncertain_threshold: 61\n")
    assert "uncertain_threshold must not exceed matching.answer_threshold" in message


@pytest.mark.parametrize("value", ["0", "100"])
def test_threshold_bounds_are_allowed(tmp_path: Path, value: str) -> None:
    settings = load(
        tmp_path, f"matching:\n  answer_threshold: 100\n  uncertain_threshold: {value}\n"
    )
    assert settings.matching.uncertain_threshold == float(value)


def test_outbox_path_from_config_or_environment(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    assert load(tmp_path, "").outbox_file == conf / "outbox.sqlite3"
    assert load(tmp_path, "").heartbeat_file == conf / "outbox.sqlite3.alive"
    text = "telegram:\n  outbox_path: state/replies.db\n"
    assert load(tmp_path, text).outbox_file == conf / "state" / "replies.db"
    moved = load(tmp_path, text, BOT_OUTBOX_PATH="/var/lib/x/o.db")  # the environment wins
    assert moved.outbox_file == Path("/var/lib/x/o.db")
    assert moved.heartbeat_file == Path("/var/lib/x/o.db.alive")
    assert "BOT_OUTBOX_PATH must not be empty" in refused(tmp_path, "", BOT_OUTBOX_PATH=" ")
    assert "telegram.outbox_path must not be empty" in refused(
        tmp_path, "telegram:\n  outbox_path: ''\n"
    )


# --- mode and webhook ----------------------------------------------------------------------


def test_bad_mode(tmp_path: Path) -> None:
    assert "telegram.mode must be 'polling' or 'webhook'" in refused(
        tmp_path, "telegram:\n  mode: push\n"
    )
    assert "not 'push'" in refused(tmp_path, "", BOT_MODE="push")


def test_webhook_needs_url(tmp_path: Path) -> None:
    text = "telegram:\n  mode: webhook\n  webhook:\n    secret_token: s3cret\n"
    assert "webhook mode needs telegram.webhook.url" in refused(tmp_path, text)


def test_webhook_needs_secret(tmp_path: Path) -> None:
    text = "telegram:\n  mode: webhook\n  webhook:\n    url: https://bot.example/hook\n"
    assert "webhook mode needs telegram.webhook.secret_token" in refused(tmp_path, text)


def test_webhook_from_config(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "telegram:\n  mode: webhook\n  webhook:\n    url: https://bot.example/hook\n"
        "    secret_token: s3cret\n    port: 8080\n",
    )
    hook = settings.telegram.webhook
    assert settings.telegram.mode == "webhook"
    assert (hook.url, hook.secret_token, hook.port) == ("https://bot.example/hook", "s3cret", 8080)
    assert (hook.listen, hook.path) == ("127.0.0.1", "telegram")


def test_webhook_from_environment(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "telegram:\n  webhook:\n    url: https://old.example/hook\n",
        BOT_MODE="webhook",
        TELEGRAM_WEBHOOK_URL="https://new.example/hook",
        TELEGRAM_WEBHOOK_SECRET="from-env",
    )
    assert settings.telegram.mode == "webhook"
    assert settings.telegram.webhook.url == "https://new.example/hook"
    assert settings.telegram.webhook.secret_token == "from-env"


# --- environment overrides -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "admins"),
    [
        ("12345", {12345}),
        (" 1, 2,,3 ", {1, 2, 3}),
        ("7,7", {7}),
    ],
)
def test_bot_admins(tmp_path: Path, value: str, admins: set[int]) -> None:
    settings = load(tmp_path, "telegram:\n  admins: [999]\n", BOT_ADMINS=value)
    assert settings.telegram.admins == frozenset(admins)


def test_admins_from_config_without_environment(tmp_path: Path) -> None:
    assert load(tmp_path, "telegram:\n  admins: [1, 2]\n").telegram.admins == {1, 2}


@pytest.mark.parametrize(
    "value", ["abc", "12,abc", "1.5", "1 2", "+5", "--5", "5-", "0x10", "²", "\u0661", "9" * 5000]
)
def test_bad_bot_admins(tmp_path: Path, value: str) -> None:
    message = refused(tmp_path, "", BOT_ADMINS=value)
    assert "BOT_ADMINS" in message
    assert "is not a numeric Telegram user id" in message


def test_parse_admins_names_its_source() -> None:
    with pytest.raises(ConfigError, match=r"^ADMINS: 'x' is not a numeric Telegram user id$"):
        parse_admins("1,x", "ADMINS")
    assert parse_admins("1,2", "ADMINS") == {1, 2}


def test_telegram_base_url_override(tmp_path: Path) -> None:
    text = "telegram:\n  base_url: http://config.example/bot\n"
    assert load(tmp_path, text).telegram.base_url == "http://config.example/bot"
    overridden = load(tmp_path, text, TELEGRAM_BASE_URL="http://env.example/bot")
    assert overridden.telegram.base_url == "http://env.example/bot"
    # An empty variable does not count as set.
    assert load(tmp_path, text, TELEGRAM_BASE_URL="").telegram.base_url == (
        "http://config.example/bot"
    )
    assert load(tmp_path, "", TELEGRAM_BASE_URL="http://env.example/bot").telegram.base_url == (
        "http://env.example/bot"
    )


def test_log_level_override(tmp_path: Path) -> None:
    assert load(tmp_path, "logging:\n  level: warning\n").log_level == "WARNING"
    assert load(tmp_path, "logging:\n  level: warning\n", BOT_LOG_LEVEL="debug").log_level == (
        "DEBUG"
    )


def test_process_environment_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text("", encoding="utf-8")
    monkeypatch.setenv("BOT_ADMINS", "42")
    assert load_settings(path).telegram.admins == {42}
    monkeypatch.setenv("BOT_ADMINS", "nope")
    with pytest.raises(ConfigError, match="BOT_ADMINS"):
        load_settings(path)


# --- the file itself -----------------------------------------------------------------------


def test_missing_config(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(path, env={})


def test_config_syntax_error_has_a_line(tmp_path: Path) -> None:
    message = refused(tmp_path, "knowledge:\n  facts: a\n   article: b\n")
    assert f"{tmp_path / 'conf' / 'bot.yaml'}:3: YAML syntax error" in message


def test_config_that_cannot_be_read(tmp_path: Path) -> None:
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"folder\.yaml: config file is not a regular file$"):
        load_settings(folder, env={})
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"logging:\n  level: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"latin1\.yaml:2: config file is not valid UTF-8"):
        load_settings(latin1, env={})
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbflogging: {}\n")
    with pytest.raises(ConfigError, match="byte-order mark"):
        load_settings(bom, env={})


def test_config_too_big(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_bytes(b"# padding\n" * 10_000)
    with pytest.raises(
        ConfigError, match=r"bot\.yaml: config file is 100,000 bytes; the limit is 65,536 bytes$"
    ):
        load_settings(path, env={})


def test_shipped_config_matches_the_code_defaults() -> None:
    """The tuned values live in both places; a drift would make the two behave differently."""
    root = Path(__file__).resolve().parent.parent
    shipped = load_settings(root / "config" / "bot.yaml", env={}).matching
    assert dataclasses.asdict(shipped) == dataclasses.asdict(MatchSettings())


def test_overrides_replace_file_values_and_are_validated(tmp_path: Path) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text("telegram:\n  webhook:\n    port: 8443\n", encoding="utf-8")
    settings = load_settings(
        config,
        env={"TELEGRAM_WEBHOOK_SECRET": "s3cret"},
        overrides={
            "telegram.mode": "webhook",
            "telegram.webhook.url": "https://bot.example/telegram",
            "telegram.webhook.port": 9000,
            "telegram.webhook.listen": None,  # a flag not given changes nothing
        },
    )
    assert settings.telegram.mode == "webhook"
    assert settings.telegram.webhook.port == 9000
    assert settings.telegram.webhook.listen == "127.0.0.1"
    with pytest.raises(ConfigError, match="port must be between"):
        load_settings(config, env={}, overrides={"telegram.webhook.port": 0})


# --- the file is read like the knowledge file -------------------------------------------------


def refused_at_once(path: Path, **env: str) -> str:
    """The ConfigError for ``path``, which must come within seconds (in a thread, so a
    regression that hangs fails the test instead of the suite)."""
    outcome: list[BaseException | Settings] = []

    def attempt() -> None:
        try:
            outcome.append(load_settings(path, env=env))
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(10)
    assert outcome, "load_settings hung"
    assert time.monotonic() - started < 1.0
    (error,) = outcome
    assert isinstance(error, ConfigError), error
    message = str(error)
    assert "\n" not in message and len(message) < 400
    return message


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_endless_device_is_refused_at_once() -> None:
    assert refused_at_once(Path("/dev/zero")) == "/dev/zero: config file is not a regular file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "bot.yaml"
    os.mkfifo(fifo)  # nothing ever writes: reading it would wait forever
    assert refused_at_once(fifo) == f"{fifo}: config file is not a regular file"


ALIAS_BOMB = (
    "logging:\n  level: [&a [lol,lol,lol,lol,lol,lol,lol,lol,lol],\n"
    + "".join(
        f"  &{name} [{','.join([f'*{previous}'] * 9)}],\n"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "  ]\n"
)
"""Nine lists of nine lists ... of "lol": 9**9 strings once expanded (and logging.level
used to be turned into text whole, to report that it is not a level name)."""


def test_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    assert len(ALIAS_BOMB.encode()) <= 409
    path = tmp_path / "bot.yaml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    message = refused_at_once(path)
    assert message == f"{path}:2: YAML anchors and aliases (&name / *name) are not allowed"


@pytest.mark.parametrize(
    ("text", "piece"),
    [
        ("matching:\n  answer_threshold: 60\n  answer_threshold: 70\n", ":3: duplicate key"),
        ("telegram:\n  webhook:\n    <<: {port: 80}\n", ":3: merge keys (<<) are not allowed"),
        ("base: &b {port: 80}\ntelegram:\n  webhook: *b\n", ":1: YAML anchors and aliases"),
        ("telegram:\n  webhook: !!python/object:os.system {}\n", ":2: the tag tag:yaml.org"),
        ("logging: " + "[" * 40 + "]" * 40 + "\n", ":1: the YAML is nested too deeply"),
        ("logging: " + "[" * 5_000 + "]" * 5_000 + "\n", ":1: the YAML is nested too deeply"),
        ("matching:\n  min_margin: 2022-02-30\n", ":2: YAML error: a value cannot be read"),
        ("logging: [" + "1, " * 12_000 + "]\n", ": the file has more than 10,000 YAML nodes"),
        ("knowledge: [\n", ":2: YAML syntax error: while parsing a flow node"),
    ],
)
def test_hostile_yaml_is_one_line(tmp_path: Path, text: str, piece: str) -> None:
    message = refused(tmp_path, text)
    assert "\n" not in message
    assert f"{tmp_path / 'conf' / 'bot.yaml'}{piece}" in message


@pytest.mark.parametrize(
    ("text", "piece"),
    [
        # YAML 1.1 read these as 8443, 60, 60 and true; they are text now, so refused
        ("telegram:\n  webhook:\n    port: 0x20FB\n", "port must be int, not '0x20FB'"),
        ("telegram:\n  rate_limit:\n    per_seconds: 1:0\n", "per_seconds must be int or float"),
        ("telegram:\n  rate_limit:\n    questions: 0o74\n", "questions must be int, not '0o74'"),
        ("telegram:\n  auto_reload: yes\n", "telegram.auto_reload must be bool, not 'yes'"),
        ("telegram:\n  admins: [0b1010]\n", "telegram.admins[] must be int, not '0b1010'"),
        ("telegram:\n  webhook:\n    port: 8_443\n", "port must be int, not '8_443'"),
    ],
)
def test_only_decimal_numbers(tmp_path: Path, text: str, piece: str) -> None:
    assert piece in refused(tmp_path, text)


def test_long_values_are_cut_short_in_messages(tmp_path: Path) -> None:
    message = refused(tmp_path, "knowledge:\n  facts: [" + "x, " * 5_000 + "]\n")
    assert "knowledge.facts must be str, not ['x', 'x'," in message
    assert len(message) < 200


# --- webhook URL, secret, admins ------------------------------------------------------------

WEBHOOK = "telegram:\n  mode: webhook\n  webhook:\n    url: {url}\n    secret_token: {secret}\n"


@pytest.mark.parametrize(
    "url",
    [
        "https://bot.example/telegram",
        "HTTPS://bot.example/telegram",
        "https://bot.example:8443/telegram",
        "https://bot.example:88/hook?x=1",
        "https://203.0.113.7/telegram",
    ],
)
def test_good_webhook_urls(tmp_path: Path, url: str) -> None:
    settings = load(tmp_path, WEBHOOK.format(url=url, secret="s3cret"))
    assert settings.telegram.webhook.url == url


@pytest.mark.parametrize(
    ("url", "piece"),
    [
        ("http://bot.example/telegram", "must be an https:// URL"),
        ("ftp://bot.example/telegram", "must be an https:// URL"),
        ("bot.example/telegram", "must be an https:// URL"),
        ("https:///telegram", "must be an https:// URL"),
        ("https://bot.example:8080/telegram", "only to ports 443, 80, 88, 8443, not 8080"),
        ("https://bot.example:99999/telegram", "is not a valid URL"),
    ],
)
def test_bad_webhook_urls(tmp_path: Path, url: str, piece: str) -> None:
    message = refused(tmp_path, WEBHOOK.format(url=url, secret="s3cret"))
    assert "telegram.webhook.url" in message and piece in message
    # from the environment, the message names the variable
    message = refused(
        tmp_path, WEBHOOK.format(url="null", secret="s3cret"), TELEGRAM_WEBHOOK_URL=url
    )
    assert "TELEGRAM_WEBHOOK_URL" in message and piece in message


def test_bad_webhook_url_from_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text("", encoding="utf-8")
    overrides = {"telegram.mode": "webhook", "telegram.webhook.url": "http://bot.example/hook"}
    with pytest.raises(ConfigError, match=r"telegram\.webhook\.url must be an https:// URL"):
        load_settings(config, env={"TELEGRAM_WEBHOOK_SECRET": "s3cret"}, overrides=overrides)


def test_a_local_bot_api_server_may_use_any_port(tmp_path: Path) -> None:
    text = WEBHOOK.format(url="https://127.0.0.1:9443/hook", secret="s3cret")
    settings = load(tmp_path, text, TELEGRAM_BASE_URL="http://127.0.0.1:8081/bot")
    assert settings.telegram.webhook.url == "https://127.0.0.1:9443/hook"


@pytest.mark.parametrize("secret", ["a", "A-Za-z0-9_-", "x" * 256, "'2024'", "0x1F"])
def test_good_secrets(tmp_path: Path, secret: str) -> None:
    settings = load(tmp_path, WEBHOOK.format(url="https://bot.example/hook", secret=secret))
    assert settings.telegram.webhook.secret_token == secret.strip("'")


@pytest.mark.parametrize(
    "secret", ["s3cret!", "'with space'", "x" * 257, "sécret", "'a/b'", "'tab\\there'", "a.b"]
)
def test_secrets_telegram_refuses(tmp_path: Path, secret: str) -> None:
    message = refused(tmp_path, WEBHOOK.format(url="https://bot.example/hook", secret=secret))
    assert "telegram.webhook.secret_token must be 1 to 256 characters" in message
    assert "A-Z, a-z, 0-9, _ or -" in message
    assert secret.strip("'") not in message  # never echoed: it is a secret
    text = WEBHOOK.format(url="https://bot.example/hook", secret="null")
    env_message = refused(tmp_path, text, TELEGRAM_WEBHOOK_SECRET=secret.strip("'"))
    assert "TELEGRAM_WEBHOOK_SECRET must be 1 to 256 characters" in env_message


def test_secret_is_checked_in_polling_mode_too(tmp_path: Path) -> None:
    text = "telegram:\n  webhook:\n    secret_token: 'not allowed!'\n"
    assert "secret_token must be 1 to 256 characters" in refused(tmp_path, text)


@pytest.mark.parametrize("value", ["", " ", " , ", ",,"])
def test_empty_bot_admins_is_an_error(tmp_path: Path, value: str) -> None:
    message = refused(tmp_path, "telegram:\n  admins: [999]\n", BOT_ADMINS=value)
    assert message.endswith(
        "BOT_ADMINS is set but lists no user ids; list them (comma-separated) or unset it"
    )


def test_no_admins_in_the_config_is_fine(tmp_path: Path) -> None:
    assert load(tmp_path, "telegram:\n  admins: []\n").telegram.admins == frozenset()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "alias-bomb"])
def test_the_bot_refuses_a_hostile_config_with_one_line(tmp_path: Path, kind: str) -> None:
    """End to end: ``python -m bot run --config …`` exits 1 at once, one line, no traceback."""
    if kind == "fifo":
        path = tmp_path / "bot.yaml"
        os.mkfifo(path)
        expected = f"{path}: config file is not a regular file"
    elif kind == "dev-zero":
        path = Path("/dev/zero")
        expected = "/dev/zero: config file is not a regular file"
    else:
        path = tmp_path / "bot.yaml"
        path.write_text(ALIAS_BOMB, encoding="utf-8")
        expected = f"{path}:2: YAML anchors and aliases (&name / *name) are not allowed"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    env["TELEGRAM_BOT_TOKEN"] = "123456789:AAE-dummy-SECRET-token"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: config error: {expected}"]
