"""Test data builders. Each test creates what it needs; tables start empty."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import httpx
from shapely.geometry import box, mapping

from app.accounts.models import Role, RoleGrant, User
from app.areas.models import Area
from app.core import config_cache, security
from app.units.models import Unit, UnitKind

# A small tree at real coordinates in Rencheng, Jining (WGS-84), so the GCJ-02 offset matters:
# district 990100 › streets 990100001/2 › communities ...001001/2, ...002001/2 › 2 cells each.
T = TypeVar("T")

WEST, SOUTH, EAST, NORTH = 116.50, 35.40, 116.54, 35.42


def _feature(code: str, name: str, kind: str, parent: str | None, geom: Any) -> dict:
    return {"type": "Feature", "geometry": mapping(geom) if geom is not None else None,
            "properties": {"code": code, "name": name, "kind": kind, "parent_code": parent}}


def small_tree() -> dict:
    """A FeatureCollection: 1 district, 2 streets, 4 communities, 8 grid cells (all squares)."""
    features = [_feature("990100", "测试区", "district", None, box(WEST, SOUTH, EAST, NORTH))]
    mid_lng, mid_lat = (WEST + EAST) / 2, (SOUTH + NORTH) / 2
    streets = [("990100001", "东门街道", WEST, mid_lng), ("990100002", "西门街道", mid_lng, EAST)]
    for s_code, s_name, x0, x1 in streets:
        features.append(_feature(s_code, s_name, "street", "990100", box(x0, SOUTH, x1, NORTH)))
        for i, (y0, y1) in enumerate([(SOUTH, mid_lat), (mid_lat, NORTH)], start=1):
            c_code = f"{s_code}{i:03d}"
            features.append(_feature(c_code, f"{s_name[:2]}第{i}社区", "community", s_code,
                                     box(x0, y0, x1, y1)))
            xm = (x0 + x1) / 2
            for j, (a, b) in enumerate([(x0, xm), (xm, x1)], start=1):
                features.append(_feature(f"{c_code}{j:03d}", f"{s_name[:2]}{i}社区第{j}网格",
                                         "grid", c_code, box(a, y0, b, y1)))
    # Through JSON, as a file would be: lists, not shapely's tuples.
    return json.loads(json.dumps({"type": "FeatureCollection", "crs": "wgs84", "features": features}))


async def load_small_tree() -> None:
    from app.areas import service
    from app.areas.schemas import FeatureCollection

    await service.import_areas(collection=FeatureCollection.model_validate(small_tree()),
                               crs=None, actor=None)


def _configured(row: T) -> T:
    """Rows written here bypass the services: let this process's config snapshots reload."""
    config_cache.invalidate()
    return row


_HASHES: dict[str, str] = {}


async def make_staff(role: Role, *, area_code: str | None = None, unit: Unit | None = None,
                     username: str | None = None, password: str = "correct-horse-battery",
                     name: str = "王测试") -> tuple[User, dict[str, str]]:
    """A staff user with one grant, and Authorization headers for them."""
    area = await Area.get(code=area_code) if area_code else None
    if password not in _HASHES:  # argon2 is slow on purpose; hash each test password once
        _HASHES[password] = await security.hash_password(password)
    user = await User.create(
        username=username or f"{role.value}-{await User.all().count() + 1}",
        password_hash=_HASHES[password], display_name=name,
        surname=name[:1],
    )
    await RoleGrant.create(user=user, role=role, area=area, unit=unit)
    config_cache.invalidate()  # a unit's handlers are cached
    token, _ = security.issue_access_token(user.id)
    return user, {"Authorization": f"Bearer {token}"}


async def make_unit(name: str = "市政设施维护中心", area_code: str | None = "990100") -> Unit:
    area = await Area.get(code=area_code) if area_code else None
    return _configured(await Unit.create(name=name, kind=UnitKind.DEPARTMENT, area=area))


async def resident(client: httpx.AsyncClient, openid: str = "alice",
                   name: str = "") -> dict[str, str]:
    """Log a resident in through the dev login, as the mini-program does in development."""
    response = await client.post("/api/v1/auth/dev", json={"openid": openid, "display_name": name})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def error_code(response: httpx.Response) -> str:
    """The envelope's code (asserting the envelope's shape on the way)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]["code"]


async def make_category(code: str = "9901", name: str = "井盖破损", *, auto_accept: bool = False,
                        requires_photo: bool = False, limit_value: int = 4,
                        limit_unit: str = "work_hours", kind: str = "component") -> Any:
    """A 小类 (with its 大类) independent of the default catalogue."""
    from app.catalog.models import Category

    major_code = code[:2]
    major = await Category.get_or_none(code=major_code)
    if major is None:
        major = await Category.create(code=major_code, name="测试大类", kind=kind,
                                      path=f"/{major_code}/", depth=1)
    return _configured(await Category.create(
        code=code, name=name, resident_label=f"{name}（居民）", kind=kind, parent=major,
        path=f"/{major_code}/{code}/", depth=2, limit_value=limit_value, limit_unit=limit_unit,
        urgent_limit_value=2, urgent_limit_unit="natural_hours", auto_accept=auto_accept,
        requires_photo=requires_photo,
    ))


async def make_grid_team(community_code: str) -> Unit:
    area = await Area.get(code=community_code)
    return _configured(await Unit.create(name=f"{area.name}网格工作站", kind=UnitKind.GRID_TEAM,
                                         area=area))


async def make_rule(*, unit: Unit, category_code: str | None = None,
                    area_code: str | None = None, priority: int = 0) -> Any:
    from app.catalog.models import Category
    from app.routing.models import RoutingRule

    category = await Category.get(code=category_code) if category_code else None
    area = await Area.get(code=area_code) if area_code else None
    return _configured(await RoutingRule.create(category=category, area=area, unit=unit,
                                                priority=priority))
