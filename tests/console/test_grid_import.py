"""网格导入 in the console: an admin previews a GeoJSON file (map, every problem, the CRS) with
nothing written, then confirms; through the routes as a browser posts them."""

from __future__ import annotations

import json
import re

from shapely.geometry import box, mapping

from app.accounts.models import Role
from app.areas.models import Area
from tests.console.helpers import csrf_of, sign_in
from tests.factories import load_small_tree, make_staff


def feature(code, kind, parent, geom, name=None):
    return {"type": "Feature", "geometry": mapping(geom) if geom is not None else None,
            "properties": {"code": code, "name": name or f"区域{code}", "kind": kind,
                           "parent_code": parent}}


def new_district(*cells, crs=None) -> bytes:
    """District 990200 › street › community (one square each) and the given cells, as a file."""
    outline = box(116.60, 35.40, 116.62, 35.42)
    features = [feature("990200", "district", None, outline, "新区"),
                feature("990200001", "street", "990200", outline, "新街道"),
                feature("990200001001", "community", "990200001", outline, "新社区"),
                *(feature(f"990200001001{i:03d}", "grid", "990200001001", cell)
                  for i, cell in enumerate(cells, start=1))]
    body: dict = {"type": "FeatureCollection", "features": json.loads(json.dumps(features))}
    if crs:
        body["crs"] = crs
    return json.dumps(body, ensure_ascii=False).encode()


GOOD = new_district(box(116.60, 35.40, 116.61, 35.42), box(116.61, 35.40, 116.62, 35.42),
                    crs="EPSG:4326")
# Cell 2 lies over half of cell 1; cell 3 reaches 0.01° east of the community.
BAD = new_district(box(116.60, 35.40, 116.61, 35.41), box(116.605, 35.40, 116.615, 35.41),
                   box(116.615, 35.41, 116.63, 35.42))


async def admin(client, area_code=None, username="admin") -> str:
    await make_staff(Role.ADMIN, area_code=area_code, username=username, name="钱管理")
    return await sign_in(client, username)


async def post_file(client, url, body: bytes, csrf: str | None, **fields):
    data = {"crs": "", "replace": "", **fields}
    if csrf is not None:
        data["csrf_token"] = csrf
    return await client.post(url, data=data,
                             files={"file": ("grid.geojson", body, "application/geo+json")})


def fingerprint(page: str) -> str:
    match = re.search(r'name="previewed" value="([0-9a-f]{64})"', page)
    assert match, "the preview offers no import"
    return match.group(1)


def map_data(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="grid-preview-data">(.*?)</script>',
                      page, re.S)
    assert match, "the preview draws no map"
    return json.loads(match.group(1))


async def test_an_admin_sees_every_problem_of_a_bad_file_on_the_map_and_nothing_is_written(
        client):
    await load_small_tree()
    csrf = await admin(client)
    form = await client.get("/console/admin/grid")
    assert form.status_code == 200 and "预览检查" in form.text
    before = await Area.all().count()

    preview = await post_file(client, "/console/admin/grid/preview", BAD, csrf)

    assert preview.status_code == 200, preview.text
    text = preview.text
    assert "发现 3 处问题，不能导入" in text
    # Both overlapping cells name each other with the overlap in m²; the third sticks out.
    assert re.search(r"与网格 990200001001002（[\d.]+ m²）\s*重叠", text)
    assert re.search(r"与网格 990200001001001（[\d.]+ m²）\s*重叠", text)
    assert re.search(r"有 [\d.]+ m² 超出上级区域 990200001001 的边界", text)
    assert "文件未声明坐标系，已按 WGS-84" in text
    assert 'name="previewed"' not in text and "确认导入" not in text
    drawn = map_data(text)["features"]
    assert len(drawn) == 6
    assert {f["properties"]["code"] for f in drawn if f["properties"]["problem"]} == {
        "990200001001001", "990200001001002", "990200001001003"}
    assert await Area.all().count() == before


async def test_an_admin_previews_a_good_file_then_imports_exactly_that_file(client):
    await load_small_tree()
    csrf = await admin(client)

    preview = await post_file(client, "/console/admin/grid/preview", GOOD, csrf)
    assert preview.status_code == 200, preview.text
    assert "检查通过，没有发现问题" in preview.text
    assert "文件声明坐标系「EPSG:4326」" in preview.text
    assert "将新增 5 个区域" in preview.text
    assert len(map_data(preview.text)["features"]) == 5
    assert not await Area.filter(code="990200").exists()  # a preview writes nothing

    done = await post_file(client, "/console/admin/grid/import", GOOD, csrf,
                           previewed=fingerprint(preview.text))
    assert done.status_code == 201, done.text
    assert "导入成功" in done.text and "新增 5 个区域" in done.text
    assert await Area.filter(path__startswith="/990200/").count() == 5

    # The same file again: every code now exists, and the preview says so.
    again = await post_file(client, "/console/admin/grid/preview", GOOD, csrf)
    assert "发现 5 处问题" in again.text and "编码已存在" in again.text


async def test_htmx_gets_the_preview_alone_and_gcj02_is_said(client):
    await load_small_tree()
    csrf = await admin(client)
    preview = await client.post(
        "/console/admin/grid/preview", data={"crs": "gcj02", "replace": ""},
        files={"file": ("grid.json", new_district(box(116.60, 35.40, 116.62, 35.42)),
                        "application/json")},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert preview.status_code == 200
    assert "<html" not in preview.text and "按所选坐标系 GCJ-02" in preview.text
    # Drawn (and stored) in WGS-84: here GCJ-02 input lies about 500 m west of where it says.
    cell = map_data(preview.text)["features"][-1]["geometry"]["coordinates"][0]
    assert 116.590 < min(p[0] for p in cell) < 116.597


async def test_an_import_of_another_file_than_the_previewed_one_is_sent_back(client):
    await load_small_tree()
    csrf = await admin(client)
    preview = await post_file(client, "/console/admin/grid/preview", GOOD, csrf)
    other = new_district(box(116.60, 35.40, 116.62, 35.42))

    changed = await post_file(client, "/console/admin/grid/import", other, csrf,
                              previewed=fingerprint(preview.text))
    assert changed.status_code == 409
    assert "与预览时不同" in changed.text
    changed_crs = await post_file(client, "/console/admin/grid/import", GOOD, csrf,
                                  previewed=fingerprint(preview.text), crs="gcj02")
    assert changed_crs.status_code == 409
    assert not await Area.filter(code="990200").exists()


async def test_another_districts_admin_sees_the_refusal_and_cannot_import(client):
    await load_small_tree()
    csrf = await admin(client, area_code="990100", username="district-admin")
    preview = await post_file(client, "/console/admin/grid/preview", GOOD, csrf)
    assert preview.status_code == 200
    assert "不在您的管辖范围内" in preview.text and "确认导入" not in preview.text

    # Even with a fingerprint of its own making, the import's checks refuse it (the API's).
    import hashlib
    forged = hashlib.sha256(GOOD + b"\0\0").hexdigest()
    refused = await post_file(client, "/console/admin/grid/import", GOOD, csrf, previewed=forged)
    assert refused.status_code == 422
    assert "导入失败" in refused.text and "不在您的管辖范围内" in refused.text
    assert not await Area.filter(code="990200").exists()


async def test_staff_who_are_not_admins_get_no_grid_import(client):
    await load_small_tree()
    await make_staff(Role.DISPATCHER, area_code="990100", username="dispatcher")
    csrf = await sign_in(client, "dispatcher")
    home = await client.get("/console/")
    assert "网格导入" not in home.text
    page = await client.get("/console/admin/grid")
    assert page.status_code == 403 and "只有管理员可以导入网格" in page.text
    posted = await post_file(client, "/console/admin/grid/preview", GOOD, csrf)
    assert posted.status_code == 403


async def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(client):
    await load_small_tree()
    csrf = await admin(client)
    page = await client.get("/console/admin/grid")
    assert "网格导入" in page.text and csrf_of(page.text) == csrf
    preview = await post_file(client, "/console/admin/grid/preview", GOOD, csrf)
    refused = await post_file(client, "/console/admin/grid/import", GOOD, None,
                              previewed=fingerprint(preview.text))
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert not await Area.filter(code="990200").exists()


async def test_files_that_are_not_area_geojson_get_a_chinese_4xx(client):
    await load_small_tree()
    csrf = await admin(client)
    url = "/console/admin/grid/preview"

    not_json = await post_file(client, url, b"\xff\xfe not json", csrf)
    assert not_json.status_code == 422 and "不是有效的 GeoJSON" in not_json.text
    no_features = await post_file(client, url, b'{"type": "FeatureCollection", "features": '
                                  b'[{"type": "Feature", "properties": {"name": "x"}}]}', csrf)
    assert no_features.status_code == 422
    assert "第 0 个要素（从 0 起）的 code缺失或格式有误" in no_features.text
    unknown_crs = await post_file(client, url, new_district(crs="EPSG:3857"), csrf)
    assert unknown_crs.status_code == 422 and "无法识别文件声明的坐标系「EPSG:3857」" in unknown_crs.text
    bad_replace = await post_file(client, url, GOOD, csrf, replace="../990100")
    assert bad_replace.status_code == 400 and "重绘区域编码有误" in bad_replace.text
    empty = await client.post(url, data={"csrf_token": csrf})
    assert empty.status_code == 400 and "请选择要导入的 GeoJSON 文件" in empty.text
