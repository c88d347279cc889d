"""Content checks for residents' free text before it is shown to anyone else.

With WeChat configured: `msg_sec_check` **v2** (`version: 2`, `openid`, `scene`) — wechatpy
1.8's `check_text_security` still calls the frozen v1, so v2 goes through the client's
generic `post`. Otherwise a local, configurable word list. Risky or doubtful text is *held*
for staff review, never silently dropped. A WeChat outage holds the text too (fail closed).
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum

import requests
from wechatpy.exceptions import WeChatClientException

from app.core import wechat
from app.settings import current

log = logging.getLogger("gongzhi.contentsafety")


class Verdict(StrEnum):
    PASS = "pass"
    HOLD = "hold"  # WeChat "review" or "risky", or a local word matched


class Scene:
    """WeChat's scene values for msg_sec_check v2."""

    PROFILE = 1
    COMMENT = 2
    FORUM = 3
    SOCIAL_LOG = 4


def _local_verdict(text: str) -> Verdict:
    words = [w.strip() for w in current().content_blocklist.split(",") if w.strip()]
    lowered = text.lower()
    return Verdict.HOLD if any(w.lower() in lowered for w in words) else Verdict.PASS


def _wechat_check(text: str, openid: str, scene: int) -> Verdict:
    result = wechat.client().post(
        f"{current().wechat_api_base}wxa/msg_sec_check",
        data={"content": text[:2500], "version": 2, "openid": openid, "scene": scene},
    )
    suggest = (result.get("result") or {}).get("suggest", "risky")
    return Verdict.PASS if suggest == "pass" else Verdict.HOLD


async def check_text(text: str, *, openid: str | None, scene: int = Scene.COMMENT) -> Verdict:
    """PASS when the text may be shown publicly; HOLD means staff review it first."""
    if not text.strip():
        return Verdict.PASS
    if _local_verdict(text) == Verdict.HOLD:
        return Verdict.HOLD
    if not current().wechat_configured or not openid:
        return Verdict.PASS
    try:
        return await asyncio.to_thread(_wechat_check, text, openid, scene)
    except (WeChatClientException, requests.RequestException) as exc:
        log.warning("msg_sec_check failed, holding the text for review: %s", exc)
        return Verdict.HOLD
