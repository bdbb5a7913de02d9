"""Reading the knowledge files from disk: the article, the facts file and the lexicon files
it lists, each a regular file within its size limit, then parsed and checked whole.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from bot import safe_yaml
from bot.knowledge_model import KnowledgeBase, KnowledgeError, Problem
from bot.knowledge_parse import parse_knowledge
from bot.knowledge_yaml import refused

MAX_FILE_BYTES = 1_048_576
"""A knowledge file larger than this is refused before it is parsed."""
MAX_ARTICLE_BYTES = 1_048_576


def _read_bytes(path: Path, limit: int, what: str) -> bytes:
    try:
        return safe_yaml.read_limited(path, limit, what)
    except safe_yaml.YAMLFileError as exc:
        raise refused(exc, str(path)) from None


def _decode(data: bytes, name: str, what: str) -> str:
    try:
        return safe_yaml.decode(data, what)
    except safe_yaml.YAMLFileError as exc:
        raise refused(exc, name) from None


def load_article(path: Path) -> str:
    """Read the article text, refusing a missing, unreadable, empty or oversized file."""
    text = _decode(_read_bytes(path, MAX_ARTICLE_BYTES, "article"), str(path), "article")
    if not text.strip():
        raise KnowledgeError([Problem(str(path), "article is empty")])
    return text


def knowledge_files(kb: KnowledgeBase, facts: Path, article: Path) -> tuple[Path, ...]:
    """Every file ``kb`` was read from: the facts file, the article, the lexicon files it lists
    (what a reload re-reads, so what a watcher watches)."""
    return (facts, article, *map(Path, kb.lexicon_paths))


def load_knowledge(facts_path: Path, article_path: Path) -> KnowledgeBase:
    """Read, validate and build the knowledge base from files; raises KnowledgeError."""
    article = load_article(article_path)
    data = _read_bytes(facts_path, MAX_FILE_BYTES, "knowledge file")
    name = str(facts_path)
    text = _decode(data, name, "knowledge file")
    if not text.strip():
        raise KnowledgeError([Problem(name, "the file is empty; it needs at least 'facts:'")])
    digest = hashlib.sha256(data)
    read: list[str] = []

    def read_lexicon(listed: str) -> tuple[str, str]:
        # Relative to the facts file, so a knowledge directory can be copied as a whole.
        path = facts_path.parent / listed
        read.append(str(path))
        raw = _read_bytes(path, MAX_FILE_BYTES, "lexicon file")
        digest.update(b"\0" + listed.encode() + b"\0" + raw)
        return str(path), _decode(raw, str(path), "lexicon file")

    kb = parse_knowledge(text, article, name, "", read_lexicon)
    # The digest covers every file read, so a changed lexicon is a changed knowledge base.
    return replace(kb, digest=digest.hexdigest(), lexicon_paths=tuple(read))
