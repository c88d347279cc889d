"""Shared pieces of the ticket tests: the small city and how a resident reports."""

from dataclasses import dataclass

from app.accounts.models import Role
from tests.factories import (
    load_small_tree,
    make_category,
    make_grid_team,
    make_rule,
    make_staff,
    make_unit,
    resident,
)

# Cell 990100001001001 spans lng 116.50–116.51, lat 35.40–35.41 (WGS-84).
IN_CELL = {"lng": 116.505, "lat": 35.405, "crs": "wgs84"}
OTHER_STREET = {"lng": 116.535, "lat": 35.405, "crs": "wgs84"}  # cell 990100002001002


@dataclass
class City:
    resident: dict
    other_resident: dict
    dispatcher: dict
    worker: dict
    worker2: dict
    far_worker: dict
    handler: dict
    other_handler: dict
    community_staff: dict
    department: object
    other_department: object
    team: object


def report_body(category="9901", location=None, **extra):
    return {"category_code": category, "description": "人行道上的井盖松动了，有人差点绊倒",
            "location": location or IN_CELL, "address": "古槐路 12 号门口", **extra}


async def report(client, headers, category="9901", **extra):
    response = await client.post("/api/v1/tickets", json=report_body(category, **extra),
                                 headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def build_city(client) -> City:
    await load_small_tree()
    manhole = await make_category("9901", "井盖破损", auto_accept=True)
    await make_category("9902", "噪音扰民", kind="event")
    await make_category("9903", "违章搭建", requires_photo=True)
    await make_category("9904", "暴露垃圾", auto_accept=True)
    department = await make_unit("市政设施维护中心")
    other_department = await make_unit("环卫服务中心")
    team = await make_grid_team("990100001001")
    await make_rule(unit=department, category_code=manhole.code, area_code="990100")
    _, dispatcher = await make_staff(Role.DISPATCHER, area_code="990100", name="李派遣")
    _, worker = await make_staff(Role.GRID_WORKER, area_code="990100001001", name="王网格")
    _, worker2 = await make_staff(Role.GRID_WORKER, area_code="990100001001", name="赵网格")
    _, far_worker = await make_staff(Role.GRID_WORKER, area_code="990100002001", name="孙网格")
    _, handler = await make_staff(Role.HANDLER, unit=department, name="陈处置")
    _, other_handler = await make_staff(Role.HANDLER, unit=other_department, name="周处置")
    _, community_staff = await make_staff(Role.COMMUNITY_STAFF, area_code="990100001001",
                                          name="吴社区")
    return City(
        resident=await resident(client, "alice"), other_resident=await resident(client, "bob"),
        dispatcher=dispatcher, worker=worker, worker2=worker2, far_worker=far_worker,
        handler=handler, other_handler=other_handler, community_staff=community_staff,
        department=department, other_department=other_department, team=team,
    )


