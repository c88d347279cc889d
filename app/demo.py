"""Demo data: one district at real coordinates (Rencheng, Jining), units and staff of every role."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from app.accounts.models import Role, RoleGrant, User
from app.areas import service as areas
from app.areas.demo_grid import demo_district_geojson
from app.areas.models import Area, AreaKind
from app.areas.schemas import FeatureCollection
from app.catalog.models import Category
from app.catalog.service import seed_default_categories
from app.core import config_cache, security
from app.routing.models import RoutingRule
from app.settings import current
from app.units.models import Unit, UnitKind

DISTRICT_CODE = "370811"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: Role
    scope: str
    password: str


async def load_demo(*, progress: Callable[[int], None] | None = None) -> list[DemoAccount] | None:
    """Load the demo once. Returns the new accounts with their passwords, or None if present.

    All of it in one transaction: a failed first run leaves nothing behind, so the next run
    starts again instead of finding half a demo.
    """
    async with in_transaction("default"):
        if await Area.filter(code=DISTRICT_CODE).exists():
            return None
        await seed_default_categories()
        collection = FeatureCollection.model_validate(demo_district_geojson())
        await areas.import_areas(collection=collection, crs=None, actor=None, progress=progress)

        district = await Area.get(code=DISTRICT_CODE)
        streets = await Area.filter(kind=AreaKind.STREET).order_by("code")
        community = await Area.filter(kind=AreaKind.COMMUNITY).order_by("code").first()
        assert community is not None
        cells = await Area.filter(kind=AreaKind.GRID, parent_id=community.id).order_by("code").limit(4)

        accounts: list[DemoAccount] = []
        municipal = await Unit.create(name="任城区市政设施维护中心", kind=UnitKind.DEPARTMENT,
                                      area=district)
        sanitation = await Unit.create(name="任城区环卫服务中心", kind=UnitKind.DEPARTMENT,
                                       area=district)
        enforcement = await Unit.create(name="任城区城管执法大队", kind=UnitKind.DEPARTMENT,
                                        area=district)
        # District-wide rules by 大类; anything else goes to the cell's grid team.
        for code, unit in (("01", municipal), ("02", municipal), ("03", sanitation),
                           ("10", sanitation), ("11", enforcement), ("14", enforcement)):
            category = await Category.get_or_none(code=code)
            if category is not None:
                await RoutingRule.create(category=category, area=district, unit=unit,
                                         note="演示数据")
        for c in await Area.filter(kind=AreaKind.COMMUNITY).order_by("code"):
            await Unit.create(name=f"{c.name}网格工作站", kind=UnitKind.GRID_TEAM, area=c)
            await Unit.create(name=f"{c.name}居民委员会", kind=UnitKind.COMMUNITY_COMMITTEE, area=c)
        await config_cache.bump()  # units and rules written here, past their services

        async def staff(username: str, name: str, role: Role, *, area: Area | None = None,
                        unit: Unit | None = None, areas_: list[Area | None] | None = None) -> None:
            password = secrets.token_urlsafe(9)
            user = await User.create(
                username=username, password_hash=await security.hash_password(password),
                display_name=name, surname=name[:1], work_phone="0537-2345678",
            )
            for target in areas_ or [area]:
                await RoleGrant.create(user=user, role=role, area=target, unit=unit)
            scope = unit.name if unit else "、".join(a.name for a in (areas_ or [area]) if a) or "全市"
            accounts.append(DemoAccount(username, name, role, scope, password))

        await staff("admin", "张管理", Role.ADMIN, area=None)
        await staff("dispatcher", "李派遣", Role.DISPATCHER, area=district)
        await staff("supervisor", "韩督办", Role.SUPERVISOR, area=district)  # 巡查督办员
        await staff("street_staff", "赵街道", Role.COMMUNITY_STAFF, area=streets[0])
        await staff("community_staff", "王社区", Role.COMMUNITY_STAFF, area=community)
        await staff("grid_worker", "刘网格", Role.GRID_WORKER, areas_=list(cells))
        # A second worker of the same cells: who handled a task may not verify it (issue 15).
        await staff("grid_worker2", "周网格", Role.GRID_WORKER, areas_=list(cells))
        await staff("handler", "陈处置", Role.HANDLER, unit=municipal)
        return accounts


def write_accounts_file(accounts: list[DemoAccount]) -> str:
    """Keep the first-run passwords under var/ (git-ignored) so a newcomer can find them again."""
    path = current().var_dir / "demo-accounts.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{a.username}\t{a.password}\t{a.role.value}\t{a.scope}" for a in accounts]
    path.write_text("username\tpassword\trole\tscope\n" + "\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return str(path)
