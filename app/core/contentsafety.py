"""Content checks for residents' free text before it is shown to anyone else.

With WeChat configured: `msg_sec_check` **v2** (`version: 2`, `openid`, `scene`) — wechatpy
1.8's `check_text_security` still calls the frozen v1, so v2 goes through the client's
generic `post`. Otherwise a local, configurable word list. Risky or doubtful text is *held*
for staff review, never silently dropped. A WeChat outage holds the text too (fail closed).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
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


# --- Photos: media_check_async v2 and its wxa_media_check push event -----------------------
# https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/sec-center/sec-check/mediaCheckAsync.html
# The verdict arrives (within 30 min) as a push to our message-push URL, matched by trace_id.

MEDIA_CHECK_EVENT = "wxa_media_check"
MEDIA_TYPE_IMAGE = 2


def image_check_available() -> bool:
    """WeChat checks photos only when its verdicts can reach us (a message-push token)."""
    settings = current()
    return settings.wechat_configured and bool(settings.wechat_push_token.get_secret_value())


def _submit_image(media_url: str, openid: str, scene: int) -> str:
    # wechatpy's `check_media_async` is the frozen v1 (no openid/scene): v2 through `post`.
    result = wechat.client().post(
        f"{current().wechat_api_base}wxa/media_check_async",
        data={"media_url": media_url, "media_type": MEDIA_TYPE_IMAGE, "version": 2,
              "openid": openid, "scene": scene},
    )
    trace_id = str(result.get("trace_id") or "")
    if not trace_id:
        raise WeChatClientException(-1, "media_check_async answered without trace_id")
    return trace_id


async def submit_image(media_url: str, *, openid: str, scene: int = Scene.COMMENT) -> str | None:
    """Ask WeChat to check a photo; its trace_id, or None when WeChat could not be reached
    (the photo stays held and the resend job tries again)."""
    try:
        return await asyncio.to_thread(_submit_image, media_url, openid, scene)
    except (WeChatClientException, requests.RequestException) as exc:
        log.warning("media_check_async failed, the photo stays held: %s", exc)
        return None


def push_signature_ok(*, signature: str, timestamp: str, nonce: str) -> bool:
    """WeChat's message-push signature: sha1 of the sorted token, timestamp and nonce."""
    token = current().wechat_push_token.get_secret_value()
    if not token or not signature:
        return False
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return hmac.compare_digest(expected, signature.lower())


def image_verdict(suggest: object) -> str:
    """"pass", "review" (held for staff) or "risky" (anything WeChat did not call pass/review)."""
    return str(suggest) if suggest in ("pass", "review") else "risky"
