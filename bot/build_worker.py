"""Building an engine in a child process, bounded in time and memory (what a reload runs).

A thread cannot be stopped or held to a memory budget: a knowledge file that takes an hour
to index (every phrasing new to the vector file is embedded, ~20 ms each) or a gigabyte to
hold would keep burning the bot's CPU and memory after the reload was given up. A child
process can be both limited (``RLIMIT_AS``) and killed. It builds the engine, pickles it,
and the bot unpickles it (about 30 ms for the article's knowledge base, against 0.6-1 s to
build), so the event loop also keeps the GIL while the child works.

Children are forked from a *forkserver* that imported the engine's modules once: a fork of
the bot itself would copy its threads' locks, and a fresh interpreter per reload would
import everything again (~0.5 s). No Telegram import here.
"""

from __future__ import annotations

import copyreg
import io
import multiprocessing
import pickle
import resource
from multiprocessing.connection import Connection
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, cast

from bot.engine import Engine
from bot.knowledge_load import load_knowledge
from bot.knowledge_model import KnowledgeError, Problem
from bot.match_settings import MatchSettings
from bot.meaning import E5Embedder, shared_e5

MEMORY_BYTES: Final = 1 << 30
"""A reload's child may map at most this much (1 GiB; building the article's knowledge base
with the model loaded peaks at about 290 MB of address space, 70 MB resident)."""
EXIT_WAIT_SECONDS: Final = 5.0
"""How long a child that sent its engine may take to exit before it is killed."""


class BuildError(Exception):
    """The child could not build an engine: too slow, too big, or it died; ``str`` says which."""


def _proxy(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


def dumps(engine: Engine) -> bytes:
    """``engine`` pickled; the meaning model itself is not copied (each process has one)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    table = copyreg.dispatch_table.copy()
    # The knowledge base's read-only mappings, and the model: rebuilt as the receiver's own.
    table[MappingProxyType] = lambda proxy: (_proxy, (dict(proxy),))
    table[E5Embedder] = lambda _: (shared_e5, ())
    pickler.dispatch_table = table
    pickler.dump(engine)
    return buffer.getvalue()


def _child(
    conn: Connection, facts: Path, article: Path, settings: MatchSettings | None, memory: int
) -> None:
    """In the child: build, then send ``("engine", bytes)`` or ``("refused", problems)``."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        engine = Engine.build(load_knowledge(facts, article), settings)
        message: tuple[str, object] = ("engine", dumps(engine))
    except KnowledgeError as exc:
        message = ("refused", list(exc.problems))
    except MemoryError:
        message = ("memory", None)
    conn.send(message)
    conn.close()


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        context.set_forkserver_preload([__name__])  # not "__main__": the bot's CLI is there
    return context


def build_isolated(
    facts: Path,
    article: Path,
    settings: MatchSettings | None = None,
    *,
    timeout: float,
    memory: int = MEMORY_BYTES,
) -> Engine:
    """The engine of these files, built in a child process; blocks (call it off the loop).

    Raises :class:`KnowledgeError` for a file with problems, :class:`BuildError` when the
    build takes over ``timeout`` seconds (the child is killed), needs more than ``memory``
    bytes, or the child dies.
    """
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(sender, facts, article, settings, memory), daemon=True
    )
    child.start()
    sender.close()  # ours; the child holds its copy, so EOF means the child is gone
    finished = False
    try:
        if not receiver.poll(timeout):
            raise BuildError(f"building the new version took over {timeout:.0f} s")
        try:
            kind, payload = receiver.recv()
        except EOFError:
            child.join(EXIT_WAIT_SECONDS)
            raise BuildError(
                f"the build process stopped without a result (exit code {child.exitcode})"
            ) from None
        finished = True
    finally:
        receiver.close()
        child.join(EXIT_WAIT_SECONDS if finished else 0)
        if child.is_alive():  # too slow, or stuck after sending: nothing more is wanted of it
            child.kill()
            child.join()
    if kind == "refused":
        raise KnowledgeError(cast(list[Problem], payload))
    if kind == "memory":
        raise BuildError(f"building the new version needed more than {memory >> 20} MiB")
    engine = pickle.loads(payload)
    if not isinstance(engine, Engine):  # pragma: no cover - the child sends nothing else
        raise BuildError("the build process sent something that is not an engine")
    return engine
