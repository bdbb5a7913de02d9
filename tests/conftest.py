"""Shared pytest configuration. The ``slow`` marker is defined in ``pyproject.toml``."""
