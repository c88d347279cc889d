"""Notifications tests: a fake WeChat on 127.0.0.1 (wechatpy talks HTTP to it) and the
delivery config the tests pass explicitly (template ids are configuration)."""

from __future__ import annotations

import pytest

from app import jobs
from app.core import locks
from app.notifications.delivery import DeliveryConfig
from tests.fakes.wechat import FakeWeChat, start
from tests.support import base_settings

PROGRESS = "TPL-progress-0123456789"
TASK = "TPL-task-0123456789"
CONFIG = DeliveryConfig(templates={"ticket_progress": PROGRESS, "task_assigned": TASK},
                        wechat_enabled=True, miniprogram_state="developer")


@pytest.fixture(autouse=True, scope="session")
def _notice_kinds():
    """The domains' notice kinds, as the composition root registers them (the pure template
    tests build no app, which would register them too)."""
    jobs.install()


@pytest.fixture(autouse=True)
def _fresh_memory_locks():
    locks.locks.memory.clear()
    yield
    locks.locks.memory.clear()


@pytest.fixture
def wechat(city):
    """WeChat configured and faked. After `city`: its residents logged in through dev login,
    which is refused once a WeChat app is configured."""
    fake = FakeWeChat()
    server = start(fake)
    base_settings(wechat_appid=fake.appid, wechat_secret=fake.secret, wechat_api_base=fake.url)
    yield fake
    server.shutdown()
