"""网格导入: an admin checks a GeoJSON file on a map with every problem listed, then imports it.

The preview is the areas service's dry run (`preview_import`: the API's checks, nothing
written); the import is the API's own `import_areas`, which checks everything again under its
lock. The confirm button carries a fingerprint of the previewed file and options, so what is
imported is what was looked at: a different file or option is sent back to be previewed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sanic import Request
from sanic.request import File
from sanic.response import HTTPResponse

from app.console import domain
from app.console.web import bp, env, error_page, is_htmx, page, render

CRS_LABELS = {"wgs84": "WGS-84（GPS、天地图）", "gcj02": "GCJ-02（高德、腾讯地图）"}
KIND_LABELS = {"district": "区（县）", "street": "街道", "community": "社区", "grid": "网格"}
ADMIN_ONLY = "只有管理员可以导入网格"


def may_import(user: domain.User | None) -> bool:
    """The API's rule (`User.may_import_areas`): admins; the menu shows the page only to them."""
    return user is not None and user.may_import_areas()


env.globals["may_import_grid"] = may_import


@dataclass(frozen=True)
class Upload:
    """What the form posted: the file's collection, the options, and their fingerprint."""

    collection: domain.FeatureCollection
    crs: str | None
    replace: str | None
    fingerprint: str


class Refused(Exception):
    """The upload cannot be checked at all (not JSON, not a FeatureCollection, bad options)."""

    def __init__(self, status: int, problems: list[str]) -> None:
        super().__init__(problems[0])
        self.status, self.problems = status, problems


def _schema_problems(exc: ValidationError) -> list[str]:
    """One Chinese line per invalid place in the file, naming the feature and the field."""
    lines = []
    for error in exc.errors()[:100]:
        loc = [str(p) for p in error["loc"]]
        where = "文件"
        if len(loc) >= 2 and loc[0] == "features" and loc[1].isdigit():
            where = f"第 {loc[1]} 个要素（从 0 起）"
            if loc[2:3] == ["properties"] and len(loc) > 3:
                where += f"的 {loc[3]}"
            elif len(loc) > 2:
                where += f"的 {loc[2]}"
        elif loc:
            where = f"文件的 {loc[0]}"
        lines.append(f"{where}缺失或格式有误")
    return list(dict.fromkeys(lines))


def _read_upload(request: Request) -> Upload:
    form = request.form
    file: File | None = request.files.get("file") if request.files else None
    if file is None or not file.body:
        raise Refused(400, ["请选择要导入的 GeoJSON 文件"])
    crs = ((form.get("crs") if form else "") or "").strip() or None
    replace = ((form.get("replace") if form else "") or "").strip() or None
    try:
        options = domain.ImportQuery.model_validate({"crs": crs, "replace": replace})
    except ValidationError:
        raise Refused(400, ["坐标系或重绘区域编码有误（编码只含字母、数字、- 和 _）"]) from None
    try:
        raw = json.loads(file.body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refused(422, ["文件不是有效的 GeoJSON（需为 UTF-8 编码的 JSON）"]) from None
    try:
        collection = domain.FeatureCollection.model_validate(raw)
    except ValidationError as exc:
        raise Refused(422, ["文件不是区域 FeatureCollection：", *_schema_problems(exc)]) from None
    digest = hashlib.sha256(file.body)
    digest.update(f"\0{options.crs or ''}\0{options.replace or ''}".encode())
    return Upload(collection, options.crs, options.replace, digest.hexdigest())


def _map_json(preview: domain.ImportPreview) -> str:
    """The previewed areas as GeoJSON for the map, each marked when it has a problem."""
    flagged = {e.get("code") for e in preview.errors}
    features = [{"type": "Feature", "geometry": f.geometry,
                 "properties": {"code": f.code, "name": f.name, "kind": f.kind,
                                "problem": f.code in flagged}}
                for f in preview.features]
    data = {"type": "FeatureCollection", "features": features}
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


async def _answer(request: Request, *, status: int = 200, **context: Any) -> HTTPResponse:
    """The preview area alone for htmx, else the whole page with it."""
    template = "admin/grid_preview.html" if is_htmx(request) else "admin/grid.html"
    return await render(request, template, status=status, crs_labels=CRS_LABELS,
                        kind_labels=KIND_LABELS, **context)


@bp.get("/admin/grid")
@page
async def grid_form(request: Request) -> HTTPResponse:
    if not may_import(request.ctx.console.user):
        return await error_page(request, 403, ADMIN_ONLY)
    return await render(request, "admin/grid.html", crs_labels=CRS_LABELS, kind_labels=KIND_LABELS)


@bp.post("/admin/grid/preview")
@page
async def grid_preview(request: Request) -> HTTPResponse:
    """Check the file as the import would and show the result; nothing is written."""
    if not may_import(request.ctx.console.user):
        return await error_page(request, 403, ADMIN_ONLY)
    try:
        upload = _read_upload(request)
    except Refused as refused:
        return await _answer(request, status=refused.status, refused=refused.problems)
    preview = await domain.areas.preview_import(
        collection=upload.collection, crs=upload.crs, replace=upload.replace,
        actor=request.ctx.console.user)
    return await _answer(request, preview=preview, map_json=_map_json(preview),
                         fingerprint=upload.fingerprint, options=upload)


@bp.post("/admin/grid/import")
@page
async def grid_import(request: Request) -> HTTPResponse:
    """Import the previewed file (all or nothing, the API's service)."""
    if not may_import(request.ctx.console.user):
        return await error_page(request, 403, ADMIN_ONLY)
    try:
        upload = _read_upload(request)
    except Refused as refused:
        return await _answer(request, status=refused.status, refused=refused.problems)
    previewed = (request.form.get("previewed") if request.form else "") or ""
    if previewed != upload.fingerprint:
        return await _answer(request, status=409, refused=[
            "文件或选项与预览时不同：请先预览检查，确认无误后再导入"])
    try:
        result = await domain.areas.import_areas(
            collection=upload.collection, crs=upload.crs, replace=upload.replace,
            actor=request.ctx.console.user)
    except domain.Invalid as exc:
        # The cells changed since the preview (another import): the same list, as refused now.
        errors = (exc.details or {}).get("errors") or []
        return await _answer(request, status=422, refused=[exc.message], errors=errors)
    return await _answer(request, status=201, result=result)
