"""Fixtures of the reliability tests (their tools are in support/reliability.py)."""

import pytest
from support.reliability import EngineProxy


@pytest.fixture
def proxy(tmp_path):
    """A proxy in front of the real engine that a test can cut, stall, refuse or black-hole."""
    p = EngineProxy(str(tmp_path / "engine.sock"))
    yield p
    p.close()
