"""A cache of built engines, so a command starts in a fifth of the time.

Parsing and checking the knowledge files and building the index take about 350 ms; reading
the engine back from a pickle takes about 25 ms. An entry is used only when every file it
was built from still has the same bytes (the knowledge and lexicon files, the article, the
decision rule, the vector file), and the code, the Python and the matching settings are the
same, so a stale engine cannot be served. Anything else (no entry, a corrupt or unreadable
one, a file not owned by this user or writable by others) means building afresh, and then
writing the entry for next time if the cache folder is writable.

Pickles can run code when read, so the folder is this user's own (``0700``, by default
``$XDG_CACHE_HOME/article-bot`` or ``~/.cache/article-bot``; ``BOT_ENGINE_CACHE`` names
another, or ``off``), and an entry is read only if it and its folder are owned by this user
and writable by nobody else.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from bot.build_worker import dumps
from bot.engine import Engine
from bot.knowledge_load import load_knowledge
from bot.match_settings import MatchSettings

log = logging.getLogger(__name__)

ENV = "BOT_ENGINE_CACHE"
KEEP = 8
"""Entries kept in the folder; older ones are removed when a new one is written."""
_PACKAGE = Path(__file__).resolve().parent


def cache_folder(env: Mapping[str, str]) -> Path | None:
    """Where entries live, or None when ``BOT_ENGINE_CACHE=off``."""
    named = env.get(ENV)
    if named is not None:
        return None if named.strip().lower() in ("off", "") else Path(named)
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "article-bot"


def _digest(path: Path) -> str:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return "missing"


def _code_digest() -> str:
    """The package's own source, the interpreter and the libraries an index holds objects of."""
    digest = hashlib.blake2b(digest_size=16)
    for source in sorted(_PACKAGE.rglob("*.py")):
        digest.update(source.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        digest.update(source.read_bytes())
    import numpy
    import rapidfuzz

    versions = (sys.version, numpy.__version__, rapidfuzz.__version__, str(pickle.HIGHEST_PROTOCOL))
    digest.update("\0".join(versions).encode())
    return digest.hexdigest()


def _key(facts: Path, article: Path, matching: MatchSettings | None) -> str:
    parts = (_code_digest(), _digest(facts), _digest(article), repr(matching), str(facts.resolve()))
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


def _sources(engine: Engine, facts: Path) -> dict[str, str]:
    """The files the engine was built from beyond the key's two (the facts file lists the
    lexicons; the rule and the vectors lie beside it), with the digests of their bytes now."""
    folder = facts.parent
    paths = [
        *map(Path, engine.kb.lexicon_paths),
        folder / "decision.yaml",
        folder / "embeddings.npz",
    ]
    return {str(path): _digest(path) for path in paths}


def _private(path: Path) -> bool:
    """Owned by this user and writable by no one else (a pickle runs code when read)."""
    try:
        info = path.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(entry: Path) -> Engine | None:
    if not (_private(entry.parent) and _private(entry)):
        return None
    try:
        with entry.open("rb") as handle:
            sources = json.loads(handle.readline())
            if any(_digest(Path(path)) != digest for path, digest in sources.items()):
                return None  # a lexicon, the rule or the vectors changed since
            engine = pickle.load(handle)
    except Exception as exc:
        log.warning("engine cache %s unreadable (%s); building afresh", entry, exc)
        return None
    return engine if isinstance(engine, Engine) else None


def _write(folder: Path, entry: Path, engine: Engine, sources: dict[str, str]) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder):
            return
        header = json.dumps(sources).encode() + b"\n"
        # Written whole under another name and renamed: a reader sees all of it or nothing.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".tmp-", delete=False) as handle:
            handle.write(header + dumps(engine))
        os.replace(handle.name, entry)
        entries = sorted(folder.glob("engine-*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.info("engine cache not written to %s: %s", folder, exc)


def load_engine(
    facts: Path,
    article: Path,
    matching: MatchSettings | None,
    env: Mapping[str, str] = os.environ,
) -> Engine:
    """The engine for these files: from the cache when it is valid, else built (and cached).

    Raises :class:`~bot.knowledge_model.KnowledgeError` as
    :func:`~bot.knowledge_load.load_knowledge`.
    """
    folder = cache_folder(env)
    entry = folder / f"engine-{_key(facts, article, matching)}.pickle" if folder else None
    if entry is not None:
        cached = _read(entry)
        if cached is not None:
            return cached
    engine = Engine.build(load_knowledge(facts, article), matching)
    if folder is not None and entry is not None:
        _write(folder, entry, engine, _sources(engine, facts))
    return engine
