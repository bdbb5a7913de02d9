"""The README documents every setting and environment variable the code reads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        # evaluation.gates is keyed by question sets, not by settings: one row covers it.
        if isinstance(value, dict) and name != "evaluation.gates":
            keys.extend(_keys(value, f"{name}."))
        else:
            keys.append(name)
    return keys


def test_every_config_key_is_in_the_readme_table() -> None:
    shipped = yaml.safe_load((ROOT / "config" / "bot.yaml").read_text(encoding="utf-8"))
    missing = [key for key in _keys(shipped) if f"`{key}`" not in README]
    assert not missing


def test_every_environment_variable_is_in_the_readme() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.py"))
    names = set(re.findall(r"""env(?:iron)?\.get\(\s*["']([A-Z_]+)["']""", sources))
    constant = r"""^\w*ENV\w*(?:: Final)? = ["']([A-Z_]+)["']"""
    names |= set(re.findall(constant, sources, re.MULTILINE))
    assert {"TELEGRAM_BOT_TOKEN", "TELEGRAM_BASE_URL", "BOT_ADMINS"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert not missing


def test_the_readme_chat_example_is_what_the_bot_prints() -> None:
    block = re.search(r"```console\n\$ printf '(.*?)' \| \S+ -m bot chat\n(.*?)```", README, re.S)
    assert block, "the README lost its chat example"
    questions = block.group(1).encode().decode("unicode_escape")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input=questions,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == block.group(2).strip()


def test_the_readme_sends_editors_to_the_editing_guide() -> None:
    section = README[README.index("## Knowledge base") : README.index("## How matching works")]
    assert "(docs/editing.md)" in section
    guide = (ROOT / "docs" / "editing.md").read_text(encoding="utf-8")
    for command in ("check", "explain", "eval", "unanswered", "chat"):
        assert f"python -m bot {command}" in guide, command
    assert "/reload" in guide
