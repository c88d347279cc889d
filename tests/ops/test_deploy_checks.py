"""Local-disk photos cannot serve several API hosts: `serve` says so at start."""

from __future__ import annotations

import logging

import pytest

from app.core import supervise
from app.settings import Settings, current


def settings(**changes: object) -> Settings:
    return current().model_copy(update=changes)  # the process-wide settings stay as they are


def test_one_host_with_local_photos_is_fine():
    assert supervise.local_storage_problem(settings(api_hosts=1)) is None


def test_several_hosts_with_local_photos_are_a_problem_unless_the_volume_is_shared():
    problem = supervise.local_storage_problem(settings(api_hosts=3))
    assert problem is not None and "API_HOSTS=3" in problem and "Qiniu" in problem
    assert supervise.local_storage_problem(
        settings(api_hosts=3, media_shared_volume=True)) is None


def test_several_hosts_with_qiniu_are_fine():
    with_qiniu = settings(api_hosts=3, qiniu_access_key="ak", qiniu_bucket="b",
                          qiniu_domain="https://img.example.gov.cn")
    assert supervise.local_storage_problem(with_qiniu) is None


def test_serve_warns_loudly_at_start(caplog: pytest.LogCaptureFixture):
    logger = logging.getLogger("gongzhi")
    saved = logger.propagate
    logger.propagate = True  # the app's own handler does not reach caplog
    try:
        with caplog.at_level(logging.ERROR, logger="gongzhi.supervise"):
            supervise.warn_about_deployment(settings(api_hosts=2))
    finally:
        logger.propagate = saved
    assert "PHOTOS WILL GO MISSING" in caplog.text
