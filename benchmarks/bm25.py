"""The BM25 baseline's own text handling, and ``python -m benchmarks.bm25 QUESTION | -``.

The command is what people pick instead of this bot at its simplest: Okapi BM25 (rank_bm25)
over the article's sentences, answering with the best sentence as a JSON line (``-``: one
question per stdin line, one JSON line each, as ``bot ask --json -``). It imports nothing
of the bot, so ``benchmarks.startup`` and ``benchmarks.batch`` can time it beside ``bot ask``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

WORD = re.compile(r"\w+")
_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'\u201c\u2018])")
ARTICLE = Path(__file__).resolve().parents[1] / "knowledge" / "article.txt"


def squash(text: str) -> str:
    """Whitespace runs as one space."""
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """Plain lower-case word tokens: the baselines' only normalisation."""
    return WORD.findall(text.lower())


def split_sentences(article: str) -> list[str]:
    """The article's sentences (a paragraph without a full stop, such as a byline, is one)."""
    out: list[str] = []
    for paragraph in _PARAGRAPH.split(article):
        out.extend(squash(s) for s in _SENTENCE_END.split(paragraph.strip()) if s.strip())
    return out


def main(argv: list[str]) -> int:
    """Answer the question in ``argv``, or with ``-`` every stdin line, one JSON line each."""
    from rank_bm25 import BM25Okapi

    sentences = split_sentences(ARTICLE.read_text(encoding="utf-8"))
    bm25 = BM25Okapi([words(s) for s in sentences])

    def answer(question: str) -> str:
        scores = bm25.get_scores(words(question))
        best = int(scores.argmax())
        return sentences[best], float(scores[best])

    serve(answer, argv)
    return 0


def serve(answer: Callable[[str], tuple[str, float]], argv: list[str]) -> None:
    """The question in ``argv`` (or with ``-`` each stdin line) answered as one JSON line."""
    questions = (line.rstrip("\n") for line in sys.stdin) if argv == ["-"] else [" ".join(argv)]
    for question in questions:
        sentence, score = answer(question)
        print(json.dumps({"question": question, "answer": sentence, "score": score}), flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
