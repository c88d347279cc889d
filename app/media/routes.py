"""Media API: start an upload, send the file, Qiniu's callback, signed reads."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file, text
from sanic_ext.extensions.openapi import openapi
from sanic_ext.extensions.openapi.definitions import Component, Parameter, Response

from app.core import contentsafety, storage
from app.core.api import ErrorOut, endpoint
from app.core.errors import Forbidden, NotFound, Unauthorized, UnsupportedMediaType
from app.media import moderation, service
from app.media.schemas import (
    MediaHideIn,
    MediaOut,
    MediaRestoreIn,
    QiniuCallbackOut,
    UploadStart,
    UploadTicket,
)

bp = Blueprint("media")
TAG = "media"


@bp.post("/media/uploads")
@endpoint(summary="Start a photo upload: where and how to send the file", tag=TAG,
          body=UploadStart, response=UploadTicket, status=201)
async def start_upload(request: Request, body: UploadStart) -> UploadTicket:
    return await service.start_upload(owner=request.ctx.user, purpose=body.purpose)


@bp.post("/media/uploads/<media_id:int>/file")
@openapi.body(
    {"multipart/form-data": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
    description="The photo as multipart field `file` (wx.uploadFile) or as the raw body",
)
@endpoint(summary="Send the photo for a local upload (embedded default)", tag=TAG,
          response=MediaOut, status=201, errors=(404, 409, 413, 415, 422, 503))
async def upload_file(request: Request, media_id: int) -> MediaOut:
    upload = request.files.get("file") if request.files else None
    data = upload.body if upload is not None else (request.body or b"")
    media = await service.receive_local_file(owner=request.ctx.user, media_id=media_id, data=data)
    return service.media_out(media)


@bp.post("/media/qiniu/callback")
@openapi.body(
    {"application/x-www-form-urlencoded": {"type": "object", "properties": {
        k: {"type": "string"} for k in ("key", "hash", "fsize", "mime", "w", "h", "media_id")}}},
    description="Sent by Qiniu after a direct upload, signed with our access key",
)
@endpoint(summary="Qiniu upload callback (signature verified before anything is recorded)",
          tag=TAG, response=QiniuCallbackOut, auth=False, errors=(401, 404, 413, 415),
          throttle=False)  # Qiniu's few addresses carry every upload: never rate-limit them
async def qiniu_callback(request: Request) -> QiniuCallbackOut:
    body = request.body.decode("utf-8", errors="replace")
    form = {k: v[0] for k, v in request.form.items()} if request.form else {}
    media = await service.receive_qiniu_callback(
        authorization=request.headers.get("authorization", ""),
        url=request.url, body=body,
        content_type=request.headers.get("content-type", ""),
        headers=dict(request.headers), form=form,
    )
    return QiniuCallbackOut(media_id=media.id, status=media.status)


@bp.get("/media/<media_id:int>")
@endpoint(summary="One of my photos, with short-lived signed URLs", tag=TAG, response=MediaOut,
          errors=(404,))
async def get_media(request: Request, media_id: int) -> MediaOut:
    return service.media_out(await service.get_for_owner(viewer=request.ctx.user, media_id=media_id))


@bp.get("/media/files/<key:path>")
@openapi.definition(
    summary="A stored photo, through a signed URL from the API (local storage only)", tag=TAG,
    parameter=[Parameter("e", str, "query", required=True),
               Parameter("sig", str, "query", required=True)],
    response=[Response({"image/jpeg": {"type": "string", "format": "binary"}}, status=200,
                       description="The JPEG"),
              Response({"application/json": Component(ErrorOut)}, status=403,
                       description="Signature invalid or expired"),
              Response({"application/json": Component(ErrorOut)}, status=404,
                       description="No such file")],
)
async def read_file(request: Request, key: str) -> HTTPResponse:
    if not storage.verify_local_url(key, request.args.get("e", ""), request.args.get("sig", "")):
        raise Forbidden("链接无效或已过期", code="invalid_signature")
    try:
        path = storage.local_path(key)
    except ValueError:
        raise NotFound() from None
    if not path.is_file():
        raise NotFound()
    return await file(path, mime_type="image/jpeg", headers={
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300",
        "Content-Disposition": "inline",
    })


@bp.post("/media/<media_id:int>/hide")
@endpoint(summary="Staff hide a photo on a ticket in their scope, with a reason its owner reads",
          tag=TAG, body=MediaHideIn, response=MediaOut, errors=(403, 404, 409))
async def hide_media(request: Request, media_id: int, body: MediaHideIn) -> MediaOut:
    media = await moderation.hide(user=request.ctx.user, media_id=media_id, reason=body.reason)
    return service.media_out(media)


@bp.post("/media/<media_id:int>/restore")
@endpoint(summary="Staff show a hidden photo again, or release one WeChat left for review",
          tag=TAG, body=MediaRestoreIn, response=MediaOut, errors=(403, 404, 409))
async def restore_media(request: Request, media_id: int, body: MediaRestoreIn) -> MediaOut:
    media = await moderation.restore(user=request.ctx.user, media_id=media_id,
                                     reason=body.reason)
    return service.media_out(media)


_PUSH_PARAMS: list[dict[str, Any] | Parameter | str] = [
    Parameter(n, str, "query", required=True) for n in ("signature", "timestamp", "nonce")]
_PUSH_ERRORS = [Response({"application/json": Component(ErrorOut)}, status=401,
                         description="Signature invalid"),
                Response({"application/json": Component(ErrorOut)}, status=404,
                         description="Message push not configured")]


def _verified_push(request: Request) -> None:
    if not contentsafety.image_check_available():
        raise NotFound("未启用微信消息推送", code="push_not_configured")
    if not contentsafety.push_signature_ok(signature=request.args.get("signature", ""),
                                           timestamp=request.args.get("timestamp", ""),
                                           nonce=request.args.get("nonce", "")):
        raise Unauthorized("消息推送签名无效", code="invalid_push_signature")


@bp.get("/wechat/push")
@openapi.definition(
    summary="WeChat message push: the server-address check (answers echostr)", tag=TAG,
    parameter=[*_PUSH_PARAMS, Parameter("echostr", str, "query", required=True)],
    response=[Response({"text/plain": {"type": "string"}}, status=200, description="echostr"),
              *_PUSH_ERRORS],
)
async def wechat_push_check(request: Request) -> HTTPResponse:
    _verified_push(request)
    return text(request.args.get("echostr", ""))


@bp.post("/wechat/push")
@openapi.definition(
    summary="WeChat message push (JSON, plaintext mode): wxa_media_check verdicts", tag=TAG,
    parameter=[*_PUSH_PARAMS],
    body={"application/json": {"type": "object"}},
    response=[Response({"text/plain": {"type": "string"}}, status=200, description="success"),
              Response({"application/json": Component(ErrorOut)}, status=413,
                       description="Body too large"),
              Response({"application/json": Component(ErrorOut)}, status=415,
                       description="XML: configure the push's data format as JSON"),
              Response({"application/json": Component(ErrorOut)}, status=422,
                       description="Not a JSON event"),
              *_PUSH_ERRORS],
)
async def wechat_push(request: Request) -> HTTPResponse:
    _verified_push(request)
    if "xml" in request.headers.get("content-type", "").lower():
        raise UnsupportedMediaType("仅支持 JSON 数据格式的消息推送", code="unsupported_media_type")
    await moderation.receive_push(request.body)
    return text("success")
