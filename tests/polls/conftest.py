import pytest

from tests.polls.helpers import build_town


@pytest.fixture
async def town(client):
    """Areas and staff around community 990100001001 (residents are made per test)."""
    return await build_town()
