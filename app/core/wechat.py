"""WeChat server API through wechatpy. wechatpy is synchronous (requests): call it in a thread."""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

import requests
from redis.exceptions import RedisError
from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage

from app.core import redis as redis_core
from app.core.errors import Forbidden, TooManyRequests, Unauthorized, UpstreamError
from app.settings import current

log = logging.getLogger("gongzhi.wechat")

# WeChat's documented code2Session errors, as our users should see them.
_LOGIN_ERRORS = {
    40029: (Unauthorized, "invalid_wechat_code", "微信登录凭证无效或已过期，请重试"),
    40163: (Unauthorized, "invalid_wechat_code", "微信登录凭证已被使用，请重试"),
    45011: (TooManyRequests, "wechat_rate_limited", "登录太频繁，请稍后再试"),
    40226: (Forbidden, "risky_user", "该微信账号存在风险，暂时无法登录"),
}


class _Client(WeChatClient):
    def fetch_access_token(self) -> dict[str, Any]:
        # wechatpy hard-codes the token URL; derive it from our (configurable) base instead.
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class _SharedTokenStorage(SessionStorage):
    """Redis-shared access token that falls back to process memory while Redis is down.

    WeChat invalidates the previous access_token a few minutes after a new one is fetched, so
    several API processes each fetching their own would keep logging each other out; but a
    lost Redis must not turn every WeChat login into a 500 either.
    """

    def __init__(self, redis_url: str, timeout: float) -> None:
        from redis import Redis as SyncRedis
        from wechatpy.session.redisstorage import RedisStorage

        self.redis = RedisStorage(SyncRedis.from_url(redis_url, socket_timeout=timeout,
                                                     socket_connect_timeout=timeout),
                                  prefix="wechatpy")
        self.memory = MemoryStorage()

    # Every call first asks the shared Redis breaker (app/core/redis.py): while it is open the
    # token lives in memory, with no wait on a Redis that just failed for another caller.
    def get(self, key: str, default: Any = None) -> Any:
        if redis_core.breaker.allows():
            try:
                return self.redis.get(key, default)
            except RedisError as exc:
                redis_core.breaker.failed(exc)
        return self.memory.get(key, default)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        self.memory.set(key, value, ttl)
        if redis_core.breaker.allows():
            try:
                self.redis.set(key, value, ttl)
            except RedisError as exc:
                redis_core.breaker.failed(exc)

    def delete(self, key: str) -> None:
        self.memory.delete(key)
        if redis_core.breaker.allows():
            try:
                self.redis.delete(key)
            except RedisError as exc:
                redis_core.breaker.failed(exc)


@lru_cache(maxsize=4)
def _client(appid: str, secret: str, api_base: str, redis_url: str,
            redis_timeout: float) -> WeChatClient:
    storage = _SharedTokenStorage(redis_url, redis_timeout) if redis_url else None
    client = _Client(appid, secret, timeout=5, session=storage)
    # wechatpy hard-codes its hosts as class attributes; point the instance at ours (tests
    # use a fake WeChat on 127.0.0.1 that answers as WeChat documents).
    client.API_BASE_URL = f"{api_base}cgi-bin/"
    client.wxa.API_BASE_URL = api_base
    return client


def client() -> WeChatClient:
    settings = current()
    return _client(settings.wechat_appid, settings.wechat_secret.get_secret_value(),
                   settings.wechat_api_base, settings.redis_url, settings.redis_timeout)


async def code_to_session(code: str) -> dict[str, Any]:
    """`{openid, session_key, unionid?}` for a wx.login code, or our error for WeChat's."""
    try:
        return await asyncio.to_thread(client().wxa.code_to_session, code)
    except WeChatClientException as exc:
        errcode = int(exc.errcode) if exc.errcode is not None else None
        if errcode in _LOGIN_ERRORS:
            error_class, code_name, message = _LOGIN_ERRORS[errcode]
            raise error_class(message, code=code_name) from None
        log.warning("code2session failed: errcode=%s errmsg=%s", exc.errcode, exc.errmsg)
        raise UpstreamError("微信服务暂时不可用，请稍后再试", code="wechat_unavailable") from None
    except requests.RequestException as exc:
        log.warning("code2session transport error: %s", exc)
        raise UpstreamError("微信服务暂时不可用，请稍后再试", code="wechat_unavailable") from None
