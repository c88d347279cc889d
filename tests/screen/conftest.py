"""Every screen test starts with empty screen caches (they live per process)."""

import pytest

from app.screen import service


@pytest.fixture(autouse=True)
def _fresh_screen_caches():
    service.cache.clear()
    service._links.clear()
    yield
    service.cache.clear()
    service._links.clear()
