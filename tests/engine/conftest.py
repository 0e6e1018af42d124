"""Fixtures of the engine tests."""

import pytest
from berth.engine import Engine


@pytest.fixture
def engine() -> Engine:
    return Engine()
