"""Every console test starts with empty workbench caches (they live per process, and each test
has a database of its own)."""

import pytest

from app.console import queues


@pytest.fixture(autouse=True)
def _fresh_workbench_caches():
    queues.forget_all()
    yield
    queues.forget_all()
