"""Photos other people see: the content check (WeChat's media_check_async v2, or the local
rule) and staff hiding a photo with a reason.

A photo is shown to anyone but its owner and staff only while `check == PASSED` and it is
not hidden. The local rule (WeChat not configured, no message-push token, or an owner without
an openid) passes a photo as soon as it is stored: it checks what the upload already checked
(a real JPEG/PNG/WebP within the size and pixel limits, re-encoded without metadata), nothing
about what the photo shows. With WeChat, the photo is held (`CHECKING`) until the
`wxa_media_check` push: pass → shown, review → held until staff release it, risky → hidden
for good with the reason the owner reads.

Which tickets a photo belongs to and who may moderate it is the tickets domain's knowledge;
it registers `guard` (app/wiring.py), so this domain imports no other.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from app.accounts.models import User
from app.core import contentsafety, storage
from app.core.errors import Conflict, Invalid, NotFound
from app.media.models import Media, MediaCheck, MediaModeration, MediaStatus, ModerationAction
from app.settings import current

log = logging.getLogger("gongzhi.media")

RISKY_REASON = "图片未通过内容安全检测，仅您和工作人员可见"
REVIEW_REASON = "图片待工作人员审核，通过后他人可见"
CHECKING_REASON = "图片审核中，通过后他人可见"
RESEND_BATCH = 50
# WeChat keeps the URL for the check: at least 1 h for a signed private URL.
CHECK_URL_TTL_S = 2 * 3600

# (user, media) → (ticket id, acting role) or raise NotFound/Forbidden. Set by app/wiring.py.
Guard = Callable[[User, Media], Awaitable[tuple[int, str]]]
guard: Guard | None = None


def openid_of(user: User) -> str | None:
    """The WeChat openid a check is made for: a resident's login, or a staff member's bound one."""
    return user.openid or user.wechat_openid


def check_on_ready(owner: User) -> MediaCheck:
    """The check a newly stored photo starts in: CHECKING when WeChat will check it."""
    if contentsafety.image_check_available() and openid_of(owner):
        return MediaCheck.CHECKING
    return MediaCheck.PASSED


def _check_url(media: Media) -> str:
    if media.storage == "qiniu":
        return storage.qiniu_url(media.key, ttl=CHECK_URL_TTL_S)
    return storage.local_url(media.key, ttl=CHECK_URL_TTL_S)


async def submit(media: Media, owner: User) -> None:
    """Send a CHECKING photo to WeChat; on failure it stays held for the resend job."""
    openid = openid_of(owner)
    if media.check != MediaCheck.CHECKING or not openid:
        return
    trace_id = await contentsafety.submit_image(_check_url(media), openid=openid)
    if trace_id:
        await Media.filter(id=media.id, check=MediaCheck.CHECKING).update(
            check_trace_id=trace_id, check_sent_at=datetime.now(UTC))


async def resend_unanswered(*, now: datetime | None = None, limit: int = RESEND_BATCH) -> int:
    """Periodic: send again the held photos WeChat never took or never answered."""
    now = now or datetime.now(UTC)
    stale = now - timedelta(seconds=current().media_check_resend_s)
    rows = await Media.filter(check=MediaCheck.CHECKING, status=MediaStatus.READY,
                              check_sent_at=None).order_by("id").limit(limit)
    rows += await Media.filter(check=MediaCheck.CHECKING, status=MediaStatus.READY,
                               check_sent_at__lt=stale).order_by("id").limit(limit)
    if not rows or not contentsafety.image_check_available():
        return 0
    owners = {u.id: u for u in await User.filter(id__in=list({m.owner_id for m in rows}))}
    sent = 0
    for media in rows:
        owner = owners.get(media.owner_id)
        if owner is None or not openid_of(owner):
            # The owner unbound or deleted their WeChat: no check can be made for them.
            await _verdict(media, MediaCheck.REVIEW, label="no_openid")
            continue
        await submit(media, owner)
        sent += 1
    return sent


async def _verdict(media: Media, check: MediaCheck, *, label: str) -> bool:
    """Record a verdict once (the push may be repeated): True if this call recorded it."""
    updated = await Media.filter(id=media.id, check=MediaCheck.CHECKING).update(
        check=check, check_label=label[:16], checked_at=datetime.now(UTC))
    if updated and check != MediaCheck.PASSED:
        action = ModerationAction.CHECK_RISKY if check == MediaCheck.RISKY else \
            ModerationAction.CHECK_REVIEW
        await MediaModeration.create(
            media_id=media.id, action=action, actor_id=None, actor_role="system",
            reason=RISKY_REASON if check == MediaCheck.RISKY else REVIEW_REASON)
    return bool(updated)


async def receive_push(body: bytes) -> None:
    """A message-push POST (signature already verified): apply a wxa_media_check verdict.

    Other events are acknowledged and ignored; an unknown trace_id too (WeChat would retry
    an error answer three times for nothing).
    """
    try:
        event = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Invalid("消息格式错误，仅支持 JSON 明文模式", code="invalid_push") from None
    if not isinstance(event, dict) or event.get("Event") != contentsafety.MEDIA_CHECK_EVENT:
        return
    trace_id = str(event.get("trace_id") or "")[:64]
    media = await Media.get_or_none(check_trace_id=trace_id) if trace_id else None
    if media is None:
        log.info("wxa_media_check for an unknown trace_id %r", trace_id)
        return
    result: dict[str, Any] = event["result"] if isinstance(event.get("result"), dict) else {}
    verdict = contentsafety.image_verdict(result.get("suggest"))
    check = {"pass": MediaCheck.PASSED, "review": MediaCheck.REVIEW}.get(verdict,
                                                                         MediaCheck.RISKY)
    await _verdict(media, check, label=str(result.get("label", "")))


async def _guarded(user: User, media_id: int) -> tuple[Media, int, str]:
    media = await Media.get_or_none(id=media_id, status=MediaStatus.READY)
    if media is None or guard is None:
        raise NotFound("找不到该图片", code="media_not_found")
    ticket_id, role = await guard(user, media)
    return media, ticket_id, role


async def hide(*, user: User, media_id: int, reason: str) -> Media:
    """Staff hide a photo from everyone but its owner and staff; the owner reads `reason`."""
    media, ticket_id, role = await _guarded(user, media_id)
    updated = await Media.filter(id=media.id, hidden_at=None).update(
        hidden_at=datetime.now(UTC), hidden_reason=reason)
    if not updated:
        raise Conflict("该图片已被隐藏", code="already_hidden")
    await MediaModeration.create(media_id=media.id, ticket_id=ticket_id,
                                 action=ModerationAction.HIDE, actor_id=user.id,
                                 actor_role=role, reason=reason)
    return await Media.get(id=media.id)


async def restore(*, user: User, media_id: int, reason: str) -> Media:
    """Undo a staff hide, or release a photo WeChat left for review; never a risky one."""
    media, ticket_id, role = await _guarded(user, media_id)
    if media.check == MediaCheck.RISKY:
        raise Conflict("该图片未通过内容安全检测，不能恢复", code="media_risky")
    # Conditional updates: of two staff restoring at once, one restores, the other gets 409.
    released = await Media.filter(id=media.id, check=MediaCheck.REVIEW).update(
        check=MediaCheck.PASSED, checked_at=datetime.now(UTC))
    shown = await Media.filter(id=media.id, hidden_at__not_isnull=True).update(
        hidden_at=None, hidden_reason=None)
    if not released and not shown:
        raise Conflict("该图片未被隐藏", code="not_hidden")
    await MediaModeration.create(media_id=media.id, ticket_id=ticket_id,
                                 action=ModerationAction.RESTORE, actor_id=user.id,
                                 actor_role=role, reason=reason)
    return await Media.get(id=media.id)


def shown_to_others(media: Media) -> bool:
    """Whether anyone besides the owner and staff may see the photo."""
    return media.check == MediaCheck.PASSED and media.hidden_at is None


def held_reason(media: Media) -> str | None:
    """Why the photo is not shown to others (what its owner reads), or None if it is."""
    if media.check == MediaCheck.RISKY:
        return RISKY_REASON
    if media.hidden_at is not None:
        return f"工作人员已隐藏此图片：{media.hidden_reason or ''}".rstrip("：")
    if media.check == MediaCheck.REVIEW:
        return REVIEW_REASON
    if media.check == MediaCheck.CHECKING:
        return CHECKING_REASON
    return None
