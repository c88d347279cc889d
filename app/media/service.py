"""Media: start an upload, receive the file (locally or via Qiniu's callback), sign reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from app.accounts.models import User
from app.core import storage
from app.core.api import MAX_ID
from app.core.errors import (
    Conflict,
    Invalid,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from app.media import moderation, workers
from app.media.images import ImageRejected, check_upload
from app.media.models import Media, MediaPurpose, MediaStatus
from app.media.schemas import MediaOut, UploadTicket
from app.settings import current

_IMAGE_ERRORS = {"too_large": PayloadTooLarge, "unsupported_media_type": UnsupportedMediaType}


def _stored_int(text: str) -> int | None:
    """A callback field as a number our columns hold (ASCII digits, 32-bit), else None."""
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        return None
    return int(text)


def _new_key(purpose: MediaPurpose) -> str:
    now = datetime.now(UTC)
    return f"{purpose.value}/{now:%Y/%m}/{uuid.uuid4().hex}.jpg"


async def start_upload(*, owner: User, purpose: MediaPurpose) -> UploadTicket:
    settings = current()
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.upload_ttl)
    use_qiniu = settings.qiniu_configured
    media = await Media.create(
        owner=owner, purpose=purpose, storage="qiniu" if use_qiniu else "local",
        key=_new_key(purpose), expires_at=expires_at,
    )
    if use_qiniu:
        token = storage.qiniu_upload_token(key=media.key, owner_id=owner.id, media_id=media.id,
                                           ttl=settings.upload_ttl)
        return UploadTicket(
            media_id=media.id, method="qiniu", upload_url=settings.qiniu_upload_url, key=media.key,
            token=token, form={"token": token, "key": media.key},
            max_bytes=settings.media_max_bytes, expires_at=expires_at,
        )
    return UploadTicket(
        media_id=media.id, method="local",
        upload_url=f"{settings.public_base_url}/api/v1/media/uploads/{media.id}/file",
        key=media.key, max_bytes=settings.media_max_bytes, expires_at=expires_at,
    )


async def _pending_of(owner: User, media_id: int) -> Media:
    media = await Media.get_or_none(id=media_id, owner_id=owner.id)
    if media is None:
        raise NotFound("找不到该上传任务", code="media_not_found")
    if media.status != MediaStatus.PENDING:
        raise Conflict("该图片已上传", code="already_uploaded")
    if media.expires_at <= datetime.now(UTC):
        raise Conflict("上传已过期，请重新开始", code="upload_expired")
    return media


async def receive_local_file(*, owner: User, media_id: int, data: bytes) -> Media:
    """Check the file by its content, strip metadata, re-encode, thumbnail, store."""
    settings = current()
    media = await _pending_of(owner, media_id)
    if media.storage != "local":
        raise Conflict("该图片应上传到对象存储", code="wrong_upload_method")
    limits = {"max_bytes": settings.media_max_bytes, "max_pixels": settings.image_max_pixels,
              "max_decoded_pixels": settings.image_max_decoded_pixels}
    try:
        # Headers only, here and now: a bomb or a wrong type never waits for a worker.
        check_upload(data, **limits)
        # The pixels in a fixed pool of recycled worker processes, not a thread here:
        # decoding would otherwise take (and keep) this process's memory (issue 10).
        image = await workers.process_in_worker(data, config=workers.PoolConfig(
            workers=settings.image_workers, max_tasks=settings.image_worker_max_tasks,
            timeout_s=settings.image_timeout_s, memory_mb=settings.image_worker_memory_mb,
            queue_max=settings.image_queue_max, queue_wait_s=settings.image_queue_wait_s),
            **limits)
    except ImageRejected as exc:
        raise _IMAGE_ERRORS.get(exc.code, Invalid)(exc.message, code=exc.code) from None
    except workers.WorkersBusy:
        raise ServiceUnavailable("图片处理繁忙，请稍后重新上传", code="image_workers_busy") from None
    thumb_key = media.key.removesuffix(".jpg") + "_thumb.jpg"
    await storage.save_local(media.key, image.content)
    await storage.save_local(thumb_key, image.thumbnail)
    # Conditional: of two concurrent uploads for one media id only one marks it ready.
    updated = await Media.filter(id=media.id, status=MediaStatus.PENDING).update(
        status=MediaStatus.READY, thumb_key=thumb_key, mime=image.mime, size=image.size,
        width=image.width, height=image.height, sha256=image.sha256, ready_at=datetime.now(UTC),
        check=moderation.check_on_ready(owner),
    )
    if not updated:
        raise Conflict("该图片已上传", code="already_uploaded")
    media = await Media.get(id=media.id)
    await moderation.submit(media, owner)
    return media


async def receive_qiniu_callback(
    *, authorization: str, url: str, body: str, content_type: str, headers: dict[str, str],
    form: dict[str, str],
) -> Media:
    """Record a Qiniu upload once its callback signature checks out; nothing before that."""
    settings = current()
    if not settings.qiniu_configured:  # local storage: no upload goes through Qiniu
        raise NotFound("未启用对象存储", code="qiniu_not_configured")
    if not storage.verify_qiniu_callback(authorization=authorization, url=url, body=body,
                                         content_type=content_type, method="POST", headers=headers):
        raise Unauthorized("回调签名无效", code="invalid_callback_signature")
    media_id = _stored_int(form.get("media_id", ""))
    media = await Media.get_or_none(id=media_id) if media_id else None
    if media is None or media.key != form.get("key") or media.storage != "qiniu":
        raise NotFound("找不到该上传任务", code="media_not_found")
    if media.status == MediaStatus.READY:
        return media  # Qiniu retries callbacks: answer the same again
    mime = form.get("mime", "")
    if mime not in storage.ALLOWED_MIME:
        raise UnsupportedMediaType(code="unsupported_media_type")
    size = _stored_int(form.get("fsize", "")) or 0
    if not 0 < size <= settings.media_max_bytes:
        raise PayloadTooLarge(code="too_large")
    owner = await User.get(id=media.owner_id)
    updated = await Media.filter(id=media.id, status=MediaStatus.PENDING).update(
        status=MediaStatus.READY, mime=mime, size=size, sha256=None,
        width=_stored_int(form.get("w", "")), height=_stored_int(form.get("h", "")),
        ready_at=datetime.now(UTC), check=moderation.check_on_ready(owner),
    )
    media = await Media.get(id=media.id)
    if updated:
        await moderation.submit(media, owner)
    return media


def media_out(media: Media, *, with_url: bool = True) -> MediaOut:
    url = thumb_url = None
    if media.status == MediaStatus.READY and with_url:
        if media.storage == "qiniu":
            url, thumb_url = storage.qiniu_url(media.key), storage.qiniu_url(media.key, thumb=True)
        else:
            url = storage.local_url(media.key)
            thumb_url = storage.local_url(media.thumb_key) if media.thumb_key else None
    return MediaOut(
        id=media.id, purpose=media.purpose, status=media.status, mime=media.mime,
        size=media.size, width=media.width, height=media.height, url=url, thumb_url=thumb_url,
        created_at=media.created_at, check=media.check, hidden=media.hidden_at is not None,
        held_reason=moderation.held_reason(media) if media.status == MediaStatus.READY else None,
    )


async def get_for_owner(*, viewer: User, media_id: int) -> Media:
    """Your own media; anyone else's is 404 (other domains grant wider reads, e.g. tickets)."""
    media = await Media.get_or_none(id=media_id, owner_id=viewer.id)
    if media is None:
        raise NotFound("找不到该图片", code="media_not_found")
    return media


async def claim_for_attachment(
    *, owner: User, media_ids: Sequence[int], purpose: MediaPurpose
) -> list[Media]:
    """The caller's own, uploaded media of this purpose, or 422: nobody attaches another's."""
    unique = list(dict.fromkeys(media_ids))
    if not unique:
        return []
    # An id outside the column's range cannot exist (and would overflow the driver).
    storable = [i for i in unique if 0 < i <= MAX_ID]
    rows = await Media.filter(id__in=storable, owner_id=owner.id, purpose=purpose,
                              status=MediaStatus.READY) if storable else []
    if len(rows) != len(unique):
        found = {m.id for m in rows}
        raise Invalid("图片不存在、未上传完成或不属于您", code="invalid_media",
                      details={"media_ids": [i for i in unique if i not in found]})
    by_id = {m.id: m for m in rows}
    return [by_id[i] for i in unique]
