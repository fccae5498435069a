"""Shared test setup: the emulator plugin and a clean DELOS_* environment for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.emulators"]


def _delos_settings() -> dict[str, str]:
    # DELOS_TEST_* name emulators shared by the whole run, so they are not settings to clean.
    return {k: v for k, v in os.environ.items() if k.startswith("DELOS_") and not k.startswith("DELOS_TEST_")}


@pytest.fixture(autouse=True)
def clean_environ() -> Iterator[None]:
    """No DELOS_* setting leaks into a test or out of it; other variables (emulator hosts) are left alone."""
    saved = _delos_settings()
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        for name in _delos_settings():
            del os.environ[name]
        os.environ.update(saved)
