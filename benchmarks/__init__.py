"""Benchmark and tuning scripts (need the ``bench`` extra for the baselines)."""
