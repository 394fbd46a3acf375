"""Fixtures for the @function tests: global switches are always restored."""

from __future__ import annotations

import pytest

import autojit as aj


@pytest.fixture
def run_eagerly():
    """``run_eagerly(flag)`` sets ``aj.config.run_functions_eagerly``; restored afterwards."""
    before = aj.config.functions_run_eagerly()
    yield aj.config.run_functions_eagerly
    aj.config.run_functions_eagerly(before)


@pytest.fixture(autouse=True)
def _restore_config():
    eager = aj.config.functions_run_eagerly()
    yield
    aj.config.run_functions_eagerly(eager)
    aj.config.set_graph_optimization(True)
