"""The engine cache (``bot.engine_cache``): used only when valid, never trusted blindly."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fakes.cli import ROOT, bot_cli, cli_env

from bot import engine_cache
from bot.conversation import respond
from bot.engine import Engine
from bot.engine_cache import KEEP, cache_folder, load_engine


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """A copy of the shipped knowledge folder, free to edit; returns its facts file."""
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    return tmp_path / "knowledge" / "facts.yaml"


def _load(facts: Path, cache: Path) -> Engine:
    return load_engine(facts, facts.parent / "article.txt", None, {"BOT_ENGINE_CACHE": str(cache)})


def _no_building(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> Engine:
        raise AssertionError("built although a valid cache entry exists")

    monkeypatch.setattr(engine_cache.Engine, "build", refuse)


def _builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = Engine.build

    def counted(*args: object, **kwargs: object) -> Engine:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_cache.Engine, "build", counted)
    return calls


@pytest.mark.slow  # 80 questions through two engines
def test_a_cached_engine_answers_exactly_as_a_built_one(
    kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _load(kb, tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("engine-*.pickle")
    assert entry.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    _no_building(monkeypatch)
    cached = _load(kb, tmp_path / "cache")
    assert cached.kb.digest == built.kb.digest
    questions = [q for fact in built.kb.facts for q in fact.questions[:3]]
    questions += ["Who won the World Cup?", "hello", "and in 2023?", "Кто автор?"]
    for question in questions:
        a, b = respond(built, question).reply, respond(cached, question).reply
        assert (a.verdict, a.fact, a.score, a.suggestions) == (
            b.verdict,
            b.fact,
            b.score,
            b.suggestions,
        ), question


@pytest.mark.parametrize(
    "change",
    [
        "facts.yaml",  # part of the key: another entry
        # not part of the key: caught by the entry's list of sources
        pytest.param("lexicon/en.yaml", marks=pytest.mark.slow),  # a build each
        pytest.param("decision.yaml", marks=pytest.mark.slow),
    ],
)
def test_any_changed_source_means_building_afresh(
    kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    first = _load(kb, tmp_path / "cache")
    path = kb.parent / change
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    calls = _builds(monkeypatch)
    again = _load(kb, tmp_path / "cache")
    assert calls == [1]
    assert again.kb.digest != first.kb.digest or change == "decision.yaml"
    _no_building(monkeypatch)  # and the new build is what the next start reads
    assert _load(kb, tmp_path / "cache").kb.digest == again.kb.digest


def test_a_corrupt_entry_is_rebuilt_and_replaced(
    kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _load(kb, tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("engine-*.pickle")
    entry.write_bytes(entry.read_bytes()[: len(entry.read_bytes()) // 2])  # truncated
    calls = _builds(monkeypatch)
    assert _load(kb, tmp_path / "cache").kb.facts
    assert calls == [1]
    assert "unreadable" in caplog.text
    _no_building(monkeypatch)
    _load(kb, tmp_path / "cache")


@pytest.mark.slow  # builds the shipped engine; fast: the corrupt entry, a changed facts file
def test_an_entry_others_could_have_written_is_not_read(
    kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(kb, tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("engine-*.pickle")
    entry.chmod(0o666)  # a pickle runs code when read
    calls = _builds(monkeypatch)
    _load(kb, tmp_path / "cache")
    assert calls == [1]
    (tmp_path / "cache").chmod(0o777)  # nor from a folder others can write to
    entry.chmod(0o600)
    _load(kb, tmp_path / "cache")
    assert calls == [1, 1]


@pytest.mark.slow  # builds the shipped engine; fast: the corrupt entry, a changed facts file
def test_off_or_an_unwritable_folder_only_costs_time(kb: Path, tmp_path: Path) -> None:
    assert cache_folder({"BOT_ENGINE_CACHE": "off"}) is None
    engine = load_engine(kb, kb.parent / "article.txt", None, {"BOT_ENGINE_CACHE": "off"})
    assert engine.kb.facts
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert _load(kb, blocker / "cache").kb.facts  # cannot be created: built, not cached


def test_the_default_folder_is_the_users_cache() -> None:
    assert cache_folder({"XDG_CACHE_HOME": "/x"}) == Path("/x/article-bot")
    assert cache_folder({}) == Path.home() / ".cache" / "article-bot"


@pytest.mark.slow  # builds the shipped engine; fast: the corrupt entry, a changed facts file
def test_old_entries_are_pruned(kb: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    for number in range(KEEP + 3):
        old = folder / f"engine-old{number}.pickle"
        old.write_bytes(b"{}\n")
        os.utime(old, (number, number))
    _load(kb, folder)
    kept = sorted(p.name for p in folder.glob("engine-*.pickle"))
    assert len(kept) == KEEP
    assert "engine-old0.pickle" not in kept and f"engine-old{KEEP + 2}.pickle" in kept


@pytest.mark.slow  # two processes
def test_the_cli_starts_from_the_cache(tmp_path: Path) -> None:
    env = cli_env(BOT_ENGINE_CACHE=str(tmp_path / "cache"))
    first = bot_cli("ask", "--json", "Who met whom?", env=env)
    assert first.returncode == 0, first.stderr
    assert list((tmp_path / "cache").glob("engine-*.pickle"))
    second = bot_cli("ask", "--json", "Who met whom?", env=env)
    assert second.stdout == first.stdout
