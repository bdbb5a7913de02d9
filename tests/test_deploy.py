"""``deploy/``: the systemd unit and the image run the README's run command, as documented.

No image is built here (CI cannot reach Docker Hub); the files are read and checked.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import pytest

from bot.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCKERFILE = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
ENV_EXAMPLE = DEPLOY / "article-bot.env.example"
TOKEN = re.compile(r"[0-9]{5,}:[A-Za-z0-9_-]{20,}")
"""What a Telegram bot token looks like (123456789:AAE…)."""


def readme_run_command() -> list[str]:
    block = re.search(r"<!-- run-command -->\n```bash\n(.*?)\n```", README, re.S)
    assert block, "the README lost its <!-- run-command --> block"
    (line,) = block.group(1).splitlines()
    return shlex.split(line)


def relative_to(workdir: str, argv: list[str]) -> list[str]:
    """``argv`` with its program written relative to ``workdir``, as the README writes it."""
    program = PurePosixPath(argv[0])
    assert program.is_absolute(), argv  # systemd needs it; Docker should not rely on PATH
    return [str(program.relative_to(workdir)), *argv[1:]]


def test_the_readme_run_command_is_the_bots_run_command() -> None:
    command = readme_run_command()
    assert command == [".venv/bin/python", "-m", "bot", "run"]
    assert ".venv/bin/python -m bot run" in README[: README.index("## Deploy")]


# --- systemd -------------------------------------------------------------------------------


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DEPLOY / "article-bot.service", encoding="utf-8")
    return parser


def test_the_unit_runs_the_readme_command() -> None:
    service = unit()["Service"]
    workdir = service["WorkingDirectory"]
    assert relative_to(workdir, shlex.split(service["ExecStart"])) == readme_run_command()


def test_the_unit_runs_as_a_user_with_the_env_file() -> None:
    parsed = unit()
    service = parsed["Service"]
    assert service["User"] not in ("", "root", "0")
    assert service["EnvironmentFile"] == "/etc/article-bot/article-bot.env"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    # the bot stops within about 4 s; systemd must not kill it first
    assert int(service["TimeoutStopSec"]) >= 10
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in parsed["Unit"]["After"]


def test_the_unit_puts_the_outbox_in_its_state_directory() -> None:
    service = unit()["Service"]
    # ProtectSystem=strict leaves only the state directory writable; the outbox must be there
    key, value = service["Environment"].split("=", 1)
    env = {key: value}
    state = f"/var/lib/{service['StateDirectory']}/"
    assert env["BOT_OUTBOX_PATH"].startswith(state)
    outbox = load_settings(ROOT / "config" / "bot.yaml", env=env).outbox_file
    assert str(outbox) == env["BOT_OUTBOX_PATH"]


# --- the image -----------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) of the whole Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def final_stage() -> list[tuple[str, str]]:
    """The instructions of the last stage: the image that runs."""
    found = instructions()
    last_from = max(i for i, (name, _) in enumerate(found) if name == "FROM")
    return found[last_from:]


def last(name: str) -> str:
    found = [args for instruction, args in final_stage() if instruction == name]
    assert found, f"the image's last stage has no {name}"
    return found[-1]


def test_the_image_runs_the_readme_command() -> None:
    command = json.loads(last("CMD"))  # exec form: no shell between Docker and the bot
    assert relative_to(last("WORKDIR"), command) == readme_run_command()
    assert "ENTRYPOINT" not in {name for name, _ in final_stage()}


def test_the_image_runs_as_a_non_root_user() -> None:
    user = last("USER").split(":")[0]
    assert user not in ("root", "0", "")
    # created in the image, and set after everything that needs root
    runs = " ".join(args for name, args in final_stage() if name == "RUN")
    assert re.search(rf"useradd\b.*\s{re.escape(user)}\b", runs)
    names = [name for name, _ in final_stage()]
    assert names.index("USER") > max(i for i, n in enumerate(names) if n == "RUN")


def test_the_image_puts_the_outbox_on_its_volume() -> None:
    env = dict(pair.split("=", 1) for pair in shlex.split(last("ENV")))
    (volume,) = json.loads(last("VOLUME"))
    assert env["BOT_OUTBOX_PATH"].startswith(volume + "/")
    outbox = load_settings(ROOT / "config" / "bot.yaml", env=env).outbox_file
    assert str(outbox) == env["BOT_OUTBOX_PATH"]


def test_the_image_has_a_healthcheck() -> None:
    check = last("HEALTHCHECK")
    assert "CMD" in check and "NONE" not in check.upper().split()
    command = json.loads(check[check.index("CMD") + 3 :])
    assert command[1] == "/app/deploy/healthcheck.py"
    assert "COPY deploy/healthcheck.py ./deploy/healthcheck.py" in DOCKERFILE
    assert last("STOPSIGNAL") == "SIGTERM"


def test_the_base_image_is_python_slim() -> None:
    bases = re.findall(r"^FROM\s+(\S+)", DOCKERFILE, re.M)
    assert bases and all(re.fullmatch(r"python:3\.1[1-9]-slim", base) for base in bases)


def test_everything_the_image_copies_exists_and_passes_the_dockerignore() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "*" in ignore  # everything else stays out of the build context (.venv, env files)
    for instruction, args in instructions():
        if instruction != "COPY" or args.startswith("--from"):
            continue
        *sources, _ = args.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source in allowed, source


# --- the environment file ------------------------------------------------------------------


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and key == key.strip() and re.fullmatch(r"[A-Z_]+", key), line
            values[key] = value
    return values


def test_the_env_example_has_no_token() -> None:
    values = env_example()
    assert values["TELEGRAM_BOT_TOKEN"] == ""
    assert "TELEGRAM_WEBHOOK_SECRET" not in values or values["TELEGRAM_WEBHOOK_SECRET"] == ""
    for path in DEPLOY.iterdir():
        assert not TOKEN.search(path.read_text(encoding="utf-8")), path


def test_the_env_example_names_only_documented_variables() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s?([A-Z][A-Z_]+)=", text, re.M))
    assert {"TELEGRAM_BOT_TOKEN", "BOT_ADMINS", "TELEGRAM_WEBHOOK_URL"} <= named
    assert all(f"`{name}`" in README for name in named), named
    # BOT_ADMINS="" is refused at start, so the example must not set it empty
    assert "BOT_ADMINS" not in env_example()


@pytest.mark.slow  # seconds of real work; the fast loop skips it
def test_the_env_example_as_given_stops_the_bot_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    env.update(env_example())
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: TELEGRAM_BOT_TOKEN is not set; export the token @BotFather gave you"
    ]


# --- docs ----------------------------------------------------------------------------------


def test_deploy_is_documented() -> None:
    section = README[README.index("## Deploy") :]
    section = section[: section.index("\n## ")]
    for name in ("article-bot.env.example", "article-bot.service", "Dockerfile", "operators.md"):
        assert name in section, name
    operators = (ROOT / "docs" / "operators.md").read_text(encoding="utf-8")
    for piece in ("systemd", "docker build -f deploy/Dockerfile", "/reload", "healthcheck.py"):
        assert piece in operators, piece


# --- the health check ----------------------------------------------------------------------


def healthcheck(tmp_path: Path, config: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "bot.yaml"
    path.write_text(config, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py"), "--config", str(path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_healthcheck_polling(tmp_path: Path) -> None:
    me = str(os.getpid())
    beat = tmp_path / "outbox.sqlite3.alive"  # beside telegram.outbox_path's default
    missing = healthcheck(tmp_path, "", "--pid", me)
    assert missing.returncode == 1
    assert (
        missing.stderr
        == f"unhealthy: no heartbeat file {beat} (the bot has not polled or served yet)\n"
    )
    beat.touch()
    assert healthcheck(tmp_path, "", "--pid", me).returncode == 0
    old = time.time() - 200
    os.utime(beat, (old, old))
    stale = healthcheck(tmp_path, "", "--pid", me)
    assert stale.returncode == 1
    assert stale.stderr.startswith("unhealthy: no heartbeat for 20") and "stuck" in stale.stderr
    beat.touch()
    gone = healthcheck(tmp_path, "", "--pid", "999999999")
    assert gone.returncode == 1
    assert gone.stderr == "unhealthy: no process 999999999\n"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_healthcheck_webhook(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        config = (
            "telegram:\n  mode: webhook\n  webhook:\n    url: https://bot.example/telegram\n"
            f"    secret_token: s3cret\n    listen: 0.0.0.0\n    port: {port}\n"
        )
        (tmp_path / "outbox.sqlite3.alive").touch()
        assert healthcheck(tmp_path, config, "--pid", str(os.getpid())).returncode == 0
    down = healthcheck(tmp_path, config, "--pid", str(os.getpid()))
    assert down.returncode == 1
    assert down.stderr.startswith(f"unhealthy: the webhook server on 127.0.0.1:{port} ")


def test_healthcheck_bad_config(tmp_path: Path) -> None:
    done = healthcheck(tmp_path, "telegram: [\n")
    assert done.returncode == 1
    assert done.stderr.startswith("unhealthy: config error: ")
    assert len(done.stderr.splitlines()) == 1
