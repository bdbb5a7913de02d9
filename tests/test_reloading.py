"""The validate-then-swap reload of the knowledge base (bot/reloading.py) and its watcher."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.harness import holder_on

from bot.knowledge_model import KnowledgeError
from bot.reloading import KnowledgeHolder, ReloadFailure, ReloadSummary, diff

ROOT = Path(__file__).resolve().parents[1]
QUOTE = "Azerbaijan and Turkiye have discussed the cooperation between the two countries"


@pytest.fixture
def holder(tmp_path: Path) -> KnowledgeHolder:
    shutil.copyfile(ROOT / "knowledge" / "facts.yaml", tmp_path / "facts.yaml")
    shutil.copyfile(ROOT / "knowledge" / "article.txt", tmp_path / "article.txt")
    shutil.copytree(ROOT / "knowledge" / "lexicon", tmp_path / "lexicon")
    return holder_on(tmp_path / "facts.yaml", tmp_path / "article.txt")


def edit(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def new_fact(fact_id: str) -> dict[str, Any]:
    return {
        "id": fact_id,
        "questions": [f"question about {fact_id}?"],
        "answer": "A.",
        "quote": QUOTE,
    }


async def test_reload_reports_added_removed_and_changed(holder: KnowledgeHolder) -> None:
    old = holder.engine
    first, second = old.kb.facts[0].id, old.kb.facts[1].id

    def change(data: dict[str, Any]) -> None:
        data["facts"] = [f for f in data["facts"] if f["id"] != first]
        for fact in data["facts"]:
            if fact["id"] == second:
                fact["answer"] = "A different answer."
        data["facts"].append(new_fact("brand_new"))
        data["examples"] = [e for e in data.get("examples", []) if e != first] or None

    edit(holder.facts, change)
    outcome = await holder.reload()
    assert isinstance(outcome, ReloadSummary)
    assert outcome.added == ("brand_new",)
    assert outcome.removed == (first,)
    assert outcome.changed == (second,)
    assert (outcome.before, outcome.after) == (len(old.kb.facts), len(old.kb.facts))
    assert holder.engine is not old and holder.version == 2
    assert "Added: brand_new" in outcome.text() and f"Removed: {first}" in outcome.text()


async def test_reload_of_an_unchanged_file_says_so(holder: KnowledgeHolder) -> None:
    outcome = await holder.reload()
    assert isinstance(outcome, ReloadSummary) and outcome.unchanged
    assert outcome.text().endswith("No changes.")


async def test_broken_file_keeps_the_old_engine(holder: KnowledgeHolder) -> None:
    old = holder.engine
    holder.facts.write_text("facts:\n  - id: Not A Slug\n", encoding="utf-8")
    outcome = await holder.reload()
    assert isinstance(outcome, ReloadFailure)
    assert isinstance(outcome.error, KnowledgeError) and outcome.error.problems
    assert holder.engine is old and holder.version == 1
    assert f"Still serving the previous version ({len(old.kb.facts)} facts)" in outcome.text()


async def test_missing_file_keeps_the_old_engine(holder: KnowledgeHolder) -> None:
    old = holder.engine
    holder.facts.unlink()
    assert isinstance(await holder.reload(), ReloadFailure)
    assert holder.engine is old


@pytest.mark.slow  # real builds; the fast loop keeps a reload and the watcher on the facts file
async def test_concurrent_reloads_are_serialised(holder: KnowledgeHolder) -> None:
    edit(holder.facts, lambda data: data["facts"].append(new_fact("one_more")))
    outcomes = await asyncio.gather(*(holder.reload() for _ in range(3)))
    assert holder.version == 4
    summaries = [o for o in outcomes if isinstance(o, ReloadSummary)]
    assert len(summaries) == 3
    # only the first saw a change: each reload compares with the engine the previous one left
    assert [s.added for s in summaries] == [("one_more",), (), ()]


async def test_reload_builds_in_a_worker_thread(
    holder: KnowledgeHolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    original = holder._build

    def build() -> Any:
        import threading

        seen.append(threading.current_thread().name)
        return original()

    monkeypatch.setattr(holder, "_build", build)
    await holder.reload()
    assert seen and seen[0] != "MainThread"


@pytest.mark.slow  # real builds; the fast loop keeps a reload and the watcher on the facts file
def test_diff_notices_changes_outside_facts(holder: KnowledgeHolder) -> None:
    kb = holder.engine.kb
    edit(holder.facts, lambda data: data["unanswerable"].append("What is the weather?"))
    other = KnowledgeHolder.load(holder.facts, holder.article).engine.kb
    summary = diff(kb, other)
    assert summary.other_changed and not (summary.added or summary.removed or summary.changed)


async def _watch_while(holder: KnowledgeHolder, change: Callable[[], None]) -> None:
    """Run the file watcher, make ``change`` once it is up, and wait (at most 10 s) for a reload."""
    from bot.telegram.hooks import watch_knowledge

    stop = asyncio.Event()
    task = asyncio.create_task(watch_knowledge(holder, stop))
    await asyncio.sleep(0.3)  # let the watcher start
    change()
    for _ in range(100):
        if holder.version > 1:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_watcher_reloads_when_the_file_changes(holder: KnowledgeHolder) -> None:
    await _watch_while(
        holder, lambda: edit(holder.facts, lambda data: data["facts"].append(new_fact("watched")))
    )
    assert holder.version == 2
    assert holder.engine.kb.fact("watched") is not None


@pytest.mark.slow  # real builds; the fast loop keeps a reload and the watcher on the facts file
async def test_watcher_reloads_when_a_lexicon_file_changes(holder: KnowledgeHolder) -> None:
    lexicon = next(Path(p) for p in holder.engine.kb.lexicon_paths if p.endswith("en.yaml"))
    text = lexicon.read_text(encoding="utf-8")
    assert "\nstopwords:\n  [a, " in text
    changed = text.replace("\nstopwords:\n  [a, ", "\nstopwords:\n  [zzyzx, a, ")
    await _watch_while(holder, lambda: lexicon.write_text(changed, encoding="utf-8"))
    assert holder.version == 2
    assert "zzyzx" in holder.engine.kb.stopwords
