"""The permission matrix: role × own/other scope × every API endpoint, as one table.

Every (method, path) the app routes under /api/ must have a row in MATRIX_TABLE (or be listed in
NOT_IN_MATRIX with a reason), and every row must name a routed endpoint: a new endpoint without
a row fails `test_every_endpoint_has_a_row`.

Each row states, per role, the class of answer for an object in the actor's own scope and for one
outside it ("other"): `401`, `403`, `404` (not found, or not visible to this caller) or `ok` (the
permission gate let it through: 2xx, or a 409/422 about the object's state or the input, or a
502 from an unreachable WeChat, all of which come only after the gate). A 500 always fails. One
value means the same for both scopes; `a/b` is own/other. Roles, in column order: anonymous,
resident, grid_worker, handler, community_staff, dispatcher, admin (an area admin).

The world: two districts (990100, where every staff member works, and 990200, "other"), each with
a department, a routing rule and tickets reported by a resident (not public, so that who sees
them is a matter of scope alone) and dispatched to that department. "Own" for a resident is
their own ticket, photo, message and rating; "other" is another resident's, in the other
district. Rows run in table order against one world (no rebuild per row, to stay well under a
minute), reads first and the verbs in a ticket's life order, so `ok` includes the 409 that the
state a previous role left behind answers. KNOWN_GAPS holds the cells answered wrongly today.

`MATRIX_OBSERVE=1 pytest tests/test_permission_matrix.py -s` prints the observed table in the
table's own format: the way to write the row of a new endpoint (then judge every cell).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from shapely.affinity import translate
from shapely.geometry import box, mapping, shape

from app.accounts.models import Role
from tests.factories import (
    load_small_tree,
    make_category,
    make_grid_team,
    make_rule,
    make_staff,
    make_unit,
    resident,
    small_tree,
)

ROLES = ("anonymous", "resident", "grid_worker", "handler", "community_staff", "dispatcher",
         "admin")
SCOPES = ("own", "other")

# Endpoints outside the API's permission model, each with why.
NOT_IN_MATRIX = {
    # Signed URLs: the signature is the permission (tests/media cover forged and expired ones).
    ("GET", "/api/v1/media/files/{key}"),
    # Verified by the Qiniu signature, not by a role (tests/media).
    ("POST", "/api/v1/media/qiniu/callback"),
    # WeChat's message push: verified by WeChat's signature, not by a role (tests/media).
    ("GET", "/api/v1/wechat/push"),
    ("POST", "/api/v1/wechat/push"),
}

# Cells the table states as they should be, where the app answers otherwise today: each one is
# tolerated (and printed) until it is fixed; then the test fails until it is removed from here.
_STATE_FIRST = "a state or input check answers before the role check"
KNOWN_GAPS: dict[tuple[str, str, str, str], str] = {
    # 409 already_claimed: the claim's state is checked before who may claim.
    **{("POST", "/api/v1/tasks/{ticket_id}/claim", role, "own"): _STATE_FIRST
       for role in ("resident", "community_staff", "dispatcher", "admin")},
    # issue 10: a grid worker claims a task dispatched to a unit because it lies in their cell.
    ("POST", "/api/v1/tasks/{ticket_id}/claim", "grid_worker", "own"): "claims must follow the "
    "assignment (issue 10)",
    # 422 invalid_duplicate: the merge target is judged before who may merge.
    **{("POST", "/api/v1/tickets/{ticket_id}/merge", role, "own"): _STATE_FIRST
       for role in ("resident", "grid_worker", "handler", "community_staff", "admin")},
}

# method path | anonymous | resident | grid_worker | handler | community_staff | dispatcher | admin
MATRIX_TABLE = """
GET    /api/v1/me                                         | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/me/data                                    | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/users                                      | 401     | 403     | 403     | 403     | ok      | ok      | ok
GET    /api/v1/users/{user_id}                            | 401     | 404     | ok/404  | 404     | ok/404  | ok/404  | ok/404
GET    /api/v1/users/{user_id}/changes                    | 401     | 403     | 403     | 403     | 403     | 403     | ok/404
GET    /api/v1/review/queue                               | 401     | 403     | 403     | 403     | ok      | ok      | ok
GET    /api/v1/areas                                      | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/areas/locate                               | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/areas/{code}                               | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/areas/{code}/grid-workers                  | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/categories                                 | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/categories/{code}                          | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/units                                      | 401     | 403     | ok      | ok      | ok      | ok      | ok
GET    /api/v1/units/{unit_id}                            | 401     | 404     | 404     | ok/404  | 404     | ok/404  | ok/404
GET    /api/v1/routing/rules                              | 401     | 403     | 403     | 403     | 403     | ok      | ok
GET    /api/v1/routing/rules/{rule_id}/history            | 401     | 403     | 403     | 403     | 403     | ok/404  | ok/404
GET    /api/v1/routing/preview                            | 401     | 403     | 403     | 403     | 403     | ok/403  | ok/403
GET    /api/v1/calendar/status                            | 401     | 403     | 403     | 403     | 403     | ok      | ok
GET    /api/v1/media/{media_id}                           | 401     | ok/404  | 404     | 404     | 404     | 404     | 404
GET    /api/v1/tickets                                    | 401     | 403     | 403     | 403     | ok      | ok      | ok
GET    /api/v1/tickets/mine                               | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/tickets/queue                              | 401     | 403     | 403     | 403     | 403     | ok      | 403
GET    /api/v1/tickets/nearby                             | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/tickets/public                             | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/tickets/{ticket_id}                        | 401     | ok/404  | ok/404  | ok/404  | ok/404  | ok/404  | ok/404
GET    /api/v1/tickets/{ticket_id}/ratings                | 401     | ok/404  | ok/404  | ok/404  | ok/404  | ok/404  | ok/404
GET    /api/v1/tasks                                      | 401     | 403     | ok      | ok      | 403     | 403     | 403
GET    /api/v1/ratings/queue                              | 401     | 403     | 403     | 403     | ok      | ok      | ok
GET    /api/v1/stats/summary                              | 401     | 403     | 403     | 403     | ok/404  | ok/404  | ok/404
GET    /api/v1/stats/breakdown                            | 401     | 403     | 403     | 403     | ok/404  | ok/404  | ok/404
GET    /api/v1/stats/export.csv                           | 401     | 403     | 403     | 403     | ok/404  | ok/404  | ok/404
GET    /api/v1/polls                                      | 401     | ok      | ok      | ok      | ok/404  | ok      | ok/404
GET    /api/v1/polls/{poll_id}                            | 401     | ok      | 404     | 404     | ok/404  | 404     | ok/404
GET    /api/v1/polls/{poll_id}/results                    | 401     | ok      | 404     | 404     | ok/404  | 404     | ok/404
GET    /api/v1/polls/{poll_id}/results.csv                | 401     | 404     | 404     | 404     | ok/404  | 404     | ok/404
GET    /api/v1/messages                                   | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/messages/unread-count                      | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/messages/subscriptions                     | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/admin/outbox                               | 401     | 403     | 403     | 403     | 403     | 403     | ok
POST   /api/v1/auth/dev                                   | ok      | ok      | ok      | ok      | ok      | ok      | ok
POST   /api/v1/auth/login                                 | 401     | 401     | 401     | 401     | 401     | 401     | 401
POST   /api/v1/auth/refresh                               | 401     | 401     | 401     | 401     | 401     | 401     | 401
POST   /api/v1/auth/wechat                                | ok      | ok      | ok      | ok      | ok      | ok      | ok
POST   /api/v1/me/wechat                                  | 401     | ok      | ok      | ok      | ok      | ok      | ok
PATCH  /api/v1/me                                         | 401     | ok      | ok      | ok      | ok      | ok      | ok
POST   /api/v1/messages/{message_id}/read                 | 401     | 404     | 404     | 404     | 404     | 404     | 404
POST   /api/v1/messages/read-all                          | 401     | ok      | ok      | ok      | ok      | ok      | ok
POST   /api/v1/messages/subscriptions                     | 401     | ok      | ok      | ok      | ok      | ok      | ok
POST   /api/v1/media/uploads                              | 401     | ok      | ok      | ok      | ok      | ok      | ok
POST   /api/v1/media/uploads/{media_id}/file              | 401     | ok/404  | 404     | 404     | 404     | 404     | 404
POST   /api/v1/users                                      | 401     | 403     | 403     | 403     | 403     | 403     | ok
PATCH  /api/v1/users/{user_id}                            | 401     | 404     | 403/404 | 404     | 403/404 | 403/404 | ok/404
PUT    /api/v1/users/{user_id}/grants                     | 401     | 403     | 403     | 403     | 403     | 403     | ok/404
POST   /api/v1/areas/import                               | 401     | 403     | 403     | 403     | 403     | 403     | ok
PATCH  /api/v1/areas/{code}                               | 401     | 403     | 403     | 403     | ok/403  | 403     | ok/403
POST   /api/v1/categories                                 | 401     | 403     | 403     | 403     | 403     | 403     | ok
PATCH  /api/v1/categories/{code}                          | 401     | 403     | 403     | 403     | 403     | 403     | ok
POST   /api/v1/units                                      | 401     | 403     | 403     | 403     | 403     | 403     | ok
PATCH  /api/v1/units/{unit_id}                            | 401     | 404     | 404     | 403/404 | 404     | 403/404 | ok/404
POST   /api/v1/routing/rules                              | 401     | 403     | 403     | 403     | 403     | 403     | ok/403
PATCH  /api/v1/routing/rules/{rule_id}                    | 401     | 403     | 403     | 403     | 403     | 403/404 | ok/404
PUT    /api/v1/calendar/overrides/{day}                   | 401     | 403     | 403     | 403     | 403     | 403     | ok
POST   /api/v1/admin/outbox/{outbox_id}/retry             | 401     | 403     | 403     | 403     | 403     | 403     | ok
POST   /api/v1/polls                                      | 401     | 403     | 403     | 403     | ok/403  | 403     | ok/403
POST   /api/v1/polls/{poll_id}/responses                  | 401     | ok      | 403     | 403     | 403     | 403     | 403
POST   /api/v1/polls/{poll_id}/texts/{answer_id}/release  | 401     | 404     | 404     | 404     | 404     | 404     | 404
POST   /api/v1/tickets                                    | 401     | ok      | ok      | ok      | ok      | ok      | ok
POST   /api/v1/tasks/patrol                               | 401     | 403     | ok/403  | 403     | 403     | 403     | 403
POST   /api/v1/tasks/self-dispose                         | 401     | 403     | ok/403  | 403     | 403     | 403     | 403
POST   /api/v1/tickets/{ticket_id}/follow                 | 401     | ok/404  | ok/404  | ok/404  | ok/404  | ok/404  | ok/404
POST   /api/v1/tickets/{ticket_id}/info                   | 401     | ok/404  | 403/404 | 403/404 | 403/404 | 403/404 | 403/404
POST   /api/v1/tickets/{ticket_id}/release-content        | 401     | 404     | 404     | 404     | ok/404  | ok/404  | 404
POST   /api/v1/review/tickets/{ticket_id}/release         | 401     | 404     | 404     | 404     | ok/404  | ok/404  | 404
POST   /api/v1/review/tickets/{ticket_id}/keep            | 401     | 404     | 404     | 404     | ok/404  | ok/404  | 404
POST   /api/v1/review/ratings/{rating_id}/release         | 401     | 404     | 404     | 404     | ok/404  | ok/404  | ok/404
POST   /api/v1/review/ratings/{rating_id}/keep            | 401     | 404     | 404     | 404     | ok/404  | ok/404  | ok/404
POST   /api/v1/review/polls/{poll_id}/texts/{answer_id}/release | 401     | 404     | 404     | 404     | 404     | 404     | 404
POST   /api/v1/review/polls/{poll_id}/texts/{answer_id}/keep | 401     | 404     | 404     | 404     | 404     | 404     | 404
POST   /api/v1/ratings/{rating_id}/replies                | 401     | 404     | 404     | 404     | ok/404  | ok/404  | ok/404
PATCH  /api/v1/ratings/{rating_id}                        | 401     | ok/404  | 404     | 404     | 404     | 404     | 404
POST   /api/v1/tickets/{ticket_id}/rating                 | 401     | ok/404  | 403/404 | 403/404 | 403/404 | 403/404 | 403/404
POST   /api/v1/tickets/{ticket_id}/extensions/{extension_id}/refuse | 401     | 403/404 | 403/404 | 403/404 | 403/404 | ok/404  | 403/404
POST   /api/v1/tickets/{ticket_id}/extensions/{extension_id}/approve | 401     | 403/404 | 403/404 | 403/404 | 403/404 | ok/404  | 403/404
POST   /api/v1/tasks/{ticket_id}/extension                | 401     | 403/404 | 403/404 | ok/404  | 403/404 | 403/404 | 403/404
POST   /api/v1/tasks/{ticket_id}/claim                    | 401     | 403/404 | 403/404 | ok/404  | 403/404 | 403/404 | 403/404
POST   /api/v1/tasks/{ticket_id}/release                  | 401     | 403/404 | 403/404 | ok/404  | 403/404 | 403/404 | 403/404
POST   /api/v1/tasks/{ticket_id}/handle                   | 401     | 403/404 | ok/404  | ok/404  | 403/404 | 403/404 | 403/404
POST   /api/v1/tickets/{ticket_id}/verify                 | 401     | 403/404 | ok/404  | 403/404 | 403/404 | ok/404  | 403/404
POST   /api/v1/tasks/{ticket_id}/return                   | 401     | 403/404 | 403/404 | ok/404  | 403/404 | 403/404 | 403/404
POST   /api/v1/tickets/{ticket_id}/accept                 | 401     | 403/404 | 403/404 | 404     | 403/404 | ok/404  | 403/404
POST   /api/v1/tickets/{ticket_id}/dispatch               | 401     | 403/404 | 403/404 | 404     | 403/404 | ok/404  | 403/404
POST   /api/v1/tickets/{ticket_id}/recategorise           | 401     | 403/404 | 403/404 | 403/404 | 403/404 | ok/404  | 403/404
POST   /api/v1/ratings/{rating_id}/decline                | 401     | 404     | 404     | 404     | ok/404  | ok/404  | ok/404
POST   /api/v1/ratings/{rating_id}/rework                 | 401     | 404     | 404     | 404     | ok/404  | ok/404  | ok/404
POST   /api/v1/tickets/{ticket_id}/rework                 | 401     | 403/404 | 403/404 | 403/404 | ok/404  | ok/404  | 403/404
POST   /api/v1/polls/{poll_id}/close                      | 401     | 404     | 404     | 404     | ok/404  | 404     | ok/404
POST   /api/v1/polls/{poll_id}/publish                    | 401     | 404     | 404     | 404     | ok/404  | 404     | ok/404
POST   /api/v1/tickets/{ticket_id}/withdraw               | 401     | ok/404  | 403/404 | 403/404 | 403/404 | 403/404 | 403/404
POST   /api/v1/tickets/{ticket_id}/reject                 | 401     | 403/404 | 403/404 | 403/404 | 403/404 | ok/404  | 403/404
POST   /api/v1/tickets/{ticket_id}/close                  | 401     | 403/404 | 403/404 | 403/404 | 403/404 | ok/404  | 403/404
POST   /api/v1/tickets/{ticket_id}/merge                  | 401     | 403/404 | 403/404 | 403/404 | 403/404 | ok/404  | 403/404
DELETE /api/v1/routing/rules/{rule_id}                    | 401     | 403     | 403     | 403     | 403     | 403/404 | ok/404
DELETE /api/v1/calendar/overrides/{day}                   | 401     | 403     | 403     | 403     | 403     | 403     | ok/404
DELETE /api/v1/me/wechat                                  | 401     | ok      | ok      | ok      | ok      | ok      | ok
GET    /api/v1/admin/open311/clients                      | 401     | 403     | 403     | 403     | 403     | 403     | 403
POST   /api/v1/admin/open311/clients                      | 401     | 403     | 403     | 403     | 403     | 403     | 403
POST   /api/v1/admin/open311/clients/{code}/deactivate    | 401     | 403     | 403     | 403     | 403     | 403     | 403
GET    /api/v1/open311/tickets/{ticket_id}/contact        | 401     | 404     | 404     | 404     | 404     | 404     | 404
POST   /api/v1/media/{media_id}/hide                      | 401     | 404     | 404     | 404     | 404     | 404     | 404
POST   /api/v1/media/{media_id}/restore                   | 401     | 404     | 404     | 404     | 404     | 404     | 404
POST   /api/v1/auth/logout                                | 401     | ok      | ok      | ok      | ok      | ok      | ok
DELETE /api/v1/me                                         | 401     | ok/401  | 403     | 403     | 403     | 403     | 403
"""


@dataclass
class World:
    """Ids by name and scope, and the Authorization headers of each role."""

    headers: dict[str, dict[str, str]]
    ids: dict[str, dict[str, Any]] = field(default_factory=dict)

    def value(self, name: str, scope: str) -> Any:
        return self.ids[name][scope]


def _other_district() -> dict:
    """The small tree again as district 990200, 0.1° east: no cell overlaps the first one."""
    tree = small_tree()
    for feature in tree["features"]:
        props = feature["properties"]
        props["code"] = props["code"].replace("990100", "990200", 1)
        props["name"] = "另" + props["name"]
        if props["parent_code"]:
            props["parent_code"] = props["parent_code"].replace("990100", "990200", 1)
        feature["geometry"] = mapping(translate(shape(feature["geometry"]), xoff=0.1))
    return json.loads(json.dumps(tree))


OWN_POINT = {"lng": 116.505, "lat": 35.405, "crs": "wgs84"}  # cell 990100001001001
OTHER_POINT = {"lng": 116.605, "lat": 35.405, "crs": "wgs84"}  # cell 990200001001001


async def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def build_world(client: httpx.AsyncClient) -> World:
    from app.areas import service as areas_service
    from app.areas.schemas import FeatureCollection
    from app.notifications.models import Message, Outbox

    await load_small_tree()
    await areas_service.import_areas(collection=FeatureCollection.model_validate(_other_district()),
                                     crs=None, actor=None)
    areas_service.invalidate_index()
    await make_category("9901", "井盖破损", auto_accept=True)
    own_unit = await make_unit("市政设施维护中心", area_code="990100")
    other_unit = await make_unit("另市政设施维护中心", area_code="990200")
    await make_grid_team("990100001001")
    own_rule = await make_rule(unit=own_unit, category_code="9901", area_code="990100")
    other_rule = await make_rule(unit=other_unit, category_code="9901", area_code="990200")
    worker_user, worker = await make_staff(Role.GRID_WORKER, area_code="990100001001")
    other_user, _ = await make_staff(Role.GRID_WORKER, area_code="990200001001")
    _, handler = await make_staff(Role.HANDLER, unit=own_unit)
    _, community = await make_staff(Role.COMMUNITY_STAFF, area_code="990100001001")
    _, dispatcher = await make_staff(Role.DISPATCHER, area_code="990100")
    _, admin = await make_staff(Role.ADMIN, area_code="990100")
    alice = await resident(client, "alice", "张阿姨")
    bob = await resident(client, "bob", "李大爷")
    world = World(headers={"anonymous": {}, "resident": alice, "grid_worker": worker,
                           "handler": handler, "community_staff": community,
                           "dispatcher": dispatcher, "admin": admin})

    def report(point: dict, headers: dict) -> Any:
        # Not public: who sees it is then a matter of scope alone.
        return client.post("/api/v1/tickets", headers=headers, json={
            "category_code": "9901", "description": "人行道上的井盖松动了", "location": point,
            "address": "古槐路 12 号", "is_public": False})

    own_ticket = await _ok(await report(OWN_POINT, alice))
    other_ticket = await _ok(await report(OTHER_POINT, bob))
    own_twin = await _ok(await report(OWN_POINT, alice))  # what a merge merges into
    other_twin = await _ok(await report(OTHER_POINT, bob))
    # A closed and rated ticket in each district, for the rating rows.
    own_rated = await _ok(await report(OWN_POINT, alice))
    other_rated = await _ok(await report(OTHER_POINT, bob))
    _, other_handler = await make_staff(Role.HANDLER, unit=other_unit)
    _, other_worker = await make_staff(Role.GRID_WORKER, area_code="990200001001")
    for tid, by, verifier in ((own_rated["id"], handler, worker),
                              (other_rated["id"], other_handler, other_worker)):
        await _ok(await client.post(f"/api/v1/tasks/{tid}/claim", headers=by, json={}))
        await _ok(await client.post(f"/api/v1/tasks/{tid}/handle", headers=by,
                                    json={"note": "已更换井盖"}))
        await _ok(await client.post(f"/api/v1/tickets/{tid}/verify", headers=verifier,
                                    json={"passed": True}))
    rating = {"result": "unsatisfied", "service": "unsatisfied", "comment": "没修好"}
    own_rating = await _ok(await client.post(f"/api/v1/tickets/{own_rated['id']}/rating",
                                             headers=alice, json=rating))
    other_rating = await _ok(await client.post(f"/api/v1/tickets/{other_rated['id']}/rating",
                                               headers=bob, json=rating))
    # The handler asks for more time on its own ticket: an extension to approve or refuse.
    await _ok(await client.post(f"/api/v1/tasks/{own_ticket['id']}/claim", headers=handler,
                                json={}))
    own_extension = await _ok(await client.post(
        f"/api/v1/tasks/{own_ticket['id']}/extension", headers=handler,
        json={"reason": "需要采购井盖", "extra_value": 2, "extra_unit": "work_days"}))
    own_media = await _ok(await client.post("/api/v1/media/uploads", headers=alice,
                                            json={"purpose": "report"}))
    other_media = await _ok(await client.post("/api/v1/media/uploads", headers=bob,
                                              json={"purpose": "report"}))
    closes = (datetime.now(UTC) + timedelta(days=7)).isoformat()

    def poll(area: str) -> dict:
        return {"area_code": area, "title": "小区停车", "closes_at": closes,
                "questions": [{"kind": "single", "prompt": "同意吗",
                               "options": [{"label": "同意"}, {"label": "不同意"}]}]}

    own_poll = await _ok(await client.post("/api/v1/polls", headers=community,
                                           json=poll("990100001001")))
    _, other_staff = await make_staff(Role.COMMUNITY_STAFF, area_code="990200001001")
    other_poll = await _ok(await client.post("/api/v1/polls", headers=other_staff,
                                             json=poll("990200001001")))
    alice_id = (await _ok(await client.get("/api/v1/me", headers=alice)))["id"]
    own_message = await Message.filter(recipient_id=alice_id).first()
    other_message = await Message.exclude(recipient_id=alice_id).first()
    outbox = await Outbox.all().first()

    def pair(own: Any, other: Any) -> dict[str, Any]:
        return {"own": own, "other": other}

    world.ids = {
        "ticket_id": pair(own_ticket["id"], other_ticket["id"]),
        "rated_ticket": pair(own_rated["id"], other_rated["id"]),
        "twin_ticket": pair(own_twin["id"], other_twin["id"]),
        "rating_id": pair(own_rating["id"], other_rating["id"]),
        # No extension on the other district's ticket: "other" there is about the ticket.
        "extension_id": pair(own_extension["id"], 999_999),
        "media_id": pair(own_media["media_id"], other_media["media_id"]),
        "poll_id": pair(own_poll["id"], other_poll["id"]),
        "message_id": pair(own_message.id if own_message else 999_999,
                           other_message.id if other_message else 999_999),
        "outbox_id": pair(outbox.id if outbox else 999_999, outbox.id if outbox else 999_999),
        "rule_id": pair(own_rule.id, other_rule.id),
        "unit_id": pair(own_unit.id, other_unit.id),
        "user_id": pair(worker_user.id, other_user.id),
        "code": pair("990100001001", "990200001001"),
        "area": pair("990100001001", "990200001001"),
        "cell": pair("990100001001001", "990200001001001"),
        "point": pair(OWN_POINT, OTHER_POINT),
        "answer_id": pair(999_999, 999_999),
    }
    return world


# --- what each endpoint is sent ---------------------------------------------------------------
# A valid request for every endpoint that takes a body or a required query: the gate is judged
# only once the input is valid (validation runs before the handler's permission check).
Make = Callable[[World, str], Any]


@dataclass(frozen=True)
class Req:
    body: Make | None = None
    query: Make | None = None
    params: dict[str, Make] = field(default_factory=dict)


def _v(name: str) -> Make:
    return lambda w, s: w.value(name, s)


def _const(value: Any) -> Make:
    return lambda w, s: value


def _area_query(w: World, s: str) -> dict[str, Any]:
    return {"area": w.value("area", s)}


def _point_query(w: World, s: str) -> dict[str, Any]:
    return dict(w.value("point", s))


def _report(w: World, s: str) -> dict[str, Any]:
    return {"category_code": "9901", "description": "路灯不亮了", "location": w.value("point", s)}


_SERIAL = iter(range(1, 1_000_000))

REQUESTS: dict[tuple[str, str], Req] = {
    ("PATCH", "/api/v1/me"): Req(body=_const({"display_name": "新名字"})),
    # Open311 client apps are a city-wide admin's (the matrix's admin is a district's): 403.
    ("POST", "/api/v1/admin/open311/clients"): Req(body=lambda w, s: {
        "code": f"matrix-{next(_SERIAL)}", "name": "矩阵测试应用"}),
    ("POST", "/api/v1/auth/logout"): Req(body=_const({"refresh_token": "x" * 40})),
    ("POST", "/api/v1/auth/wechat"): Req(body=_const({"code": "0"})),
    ("POST", "/api/v1/me/wechat"): Req(body=_const({"code": "0"})),
    ("POST", "/api/v1/tickets/{ticket_id}/info"): Req(body=_const({"note": "补充：在路口东侧"})),
    ("POST", "/api/v1/auth/refresh"): Req(body=_const({"refresh_token": "x" * 40})),
    ("POST", "/api/v1/auth/login"): Req(body=_const({"username": "nobody", "password": "x" * 12})),
    ("POST", "/api/v1/auth/dev"): Req(body=_const({"openid": "carol"})),
    ("POST", "/api/v1/users"): Req(body=lambda w, s: {
        "username": f"new-{next(_SERIAL)}", "password": "correct-horse-battery",
        "display_name": "新同事", "roles": [{"role": "grid_worker",
                                           "area_code": w.value("area", s)}]}),
    ("PATCH", "/api/v1/users/{user_id}"): Req(body=_const({"work_phone": "0537-1234567"})),
    ("PUT", "/api/v1/users/{user_id}/grants"): Req(body=lambda w, s: {
        "roles": [{"role": "grid_worker", "area_code": w.value("area", s)}]}),
    ("POST", "/api/v1/review/ratings/{rating_id}/release"): Req(body=_const({})),
    ("POST", "/api/v1/review/ratings/{rating_id}/keep"): Req(body=_const({})),
    ("POST", "/api/v1/areas/import"): Req(body=_const({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "990300", "name": "新区", "kind": "district",
                                           "parent_code": None},
         "geometry": mapping(box(117.2, 35.2, 117.21, 35.21))}]})),
    ("GET", "/api/v1/areas"): Req(query=lambda w, s: {"parent": w.value("area", s)}),
    ("GET", "/api/v1/areas/locate"): Req(query=_point_query),
    ("PATCH", "/api/v1/areas/{code}"): Req(body=_const({"office_phone": "0537-7654321"})),
    ("POST", "/api/v1/media/uploads"): Req(body=_const({"purpose": "report"})),
    # The world's photos are uploads on no ticket: 404 for all (tests/media/test_moderation.py
    # covers who may hide a photo on a ticket).
    ("POST", "/api/v1/media/{media_id}/hide"): Req(body=_const({"reason": "含他人面部"})),
    ("POST", "/api/v1/media/{media_id}/restore"): Req(body=_const({"reason": "已核实"})),
    ("POST", "/api/v1/categories"): Req(body=lambda w, s: {
        "code": f"99{next(_SERIAL) % 90 + 10}", "name": "新小类", "parent_code": "99"}),
    ("GET", "/api/v1/categories/{code}"): Req(params={"code": _const("9901")}),
    ("PATCH", "/api/v1/categories/{code}"): Req(params={"code": _const("9901")},
                                                body=_const({"sort": 3})),
    ("POST", "/api/v1/units"): Req(body=lambda w, s: {
        "name": f"新单位{next(_SERIAL)}", "kind": "department", "area_code": w.value("area", s)}),
    ("PATCH", "/api/v1/units/{unit_id}"): Req(body=_const({"is_active": True})),
    ("POST", "/api/v1/routing/rules"): Req(body=lambda w, s: {
        "category_code": "9901", "area_code": w.value("area", s),
        "unit_id": w.value("unit_id", s), "priority": next(_SERIAL) % 900}),
    ("GET", "/api/v1/routing/rules"): Req(query=_area_query),
    ("PATCH", "/api/v1/routing/rules/{rule_id}"): Req(body=_const({"note": "调整"})),
    ("GET", "/api/v1/routing/preview"): Req(query=lambda w, s: {**w.value("point", s),
                                                                "category": "9901"}),
    ("PUT", "/api/v1/calendar/overrides/{day}"): Req(params={"day": _const("2027-01-04")},
                                                     body=_const({"is_workday": False,
                                                                  "note": "调休"})),
    ("DELETE", "/api/v1/calendar/overrides/{day}"): Req(params={"day": _const("2027-01-04")}),
    ("POST", "/api/v1/tasks/self-dispose"): Req(body=lambda w, s: {**_report(w, s),
                                                                   "note": "已当场处理"}),
    ("GET", "/api/v1/tickets/nearby"): Req(query=lambda w, s: {**w.value("point", s),
                                                               "category": "9901"}),
    ("GET", "/api/v1/tickets/public"): Req(query=_point_query),
    ("POST", "/api/v1/tickets"): Req(body=_report),
    ("GET", "/api/v1/tickets"): Req(query=_area_query),
    ("POST", "/api/v1/tasks/patrol"): Req(body=_report),
    ("GET", "/api/v1/stats/summary"): Req(query=_area_query),
    ("GET", "/api/v1/stats/export.csv"): Req(query=_area_query),
    ("GET", "/api/v1/stats/breakdown"): Req(query=_area_query),
    ("POST", "/api/v1/polls"): Req(body=lambda w, s: {
        "area_code": w.value("area", s), "title": "垃圾分类",
        "closes_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        "questions": [{"kind": "text", "prompt": "建议"}]}),
    ("GET", "/api/v1/polls"): Req(query=_area_query),
    ("POST", "/api/v1/polls/{poll_id}/close"): Req(body=_const({"reason": "提前结束"})),
    ("POST", "/api/v1/polls/{poll_id}/responses"): Req(body=_const({"answers": []})),
    ("POST", "/api/v1/messages/subscriptions"): Req(body=_const({"template_ids": ["tpl_1"],
                                                                 "accepted": ["tpl_1"]})),
    ("POST", "/api/v1/tasks/{ticket_id}/handle"): Req(body=_const({"note": "已更换井盖"})),
    ("POST", "/api/v1/tasks/{ticket_id}/return"): Req(body=_const({"reason": "不归我们管"})),
    ("POST", "/api/v1/tasks/{ticket_id}/extension"): Req(body=_const({
        "reason": "等材料", "extra_value": 1, "extra_unit": "work_days"})),
    ("POST", "/api/v1/tickets/{ticket_id}/verify"): Req(body=_const({"passed": True})),
    ("POST", "/api/v1/tickets/{ticket_id}/reject"): Req(body=_const({"reason": "重复"})),
    ("POST", "/api/v1/tickets/{ticket_id}/dispatch"): Req(
        body=lambda w, s: {"unit_id": w.value("unit_id", s)}),
    ("POST", "/api/v1/tickets/{ticket_id}/extensions/{extension_id}/refuse"): Req(
        body=_const({"reason": "不需要"})),
    ("POST", "/api/v1/tickets/{ticket_id}/rework"): Req(body=_const({"reason": "没修好"})),
    ("POST", "/api/v1/tickets/{ticket_id}/merge"): Req(
        body=lambda w, s: {"duplicate_of": w.value("twin_ticket", s)}),
    ("POST", "/api/v1/tickets/{ticket_id}/recategorise"): Req(body=_const({"category_code":
                                                                           "9901"})),
    ("POST", "/api/v1/tickets/{ticket_id}/rating"): Req(
        params={"ticket_id": _v("rated_ticket")},
        body=_const({"result": "satisfied", "service": "satisfied"})),
    ("PATCH", "/api/v1/ratings/{rating_id}"): Req(body=_const({"comment": "修好了"})),
    ("POST", "/api/v1/ratings/{rating_id}/rework"): Req(body=_const({"reason": "确实没修好"})),
    ("POST", "/api/v1/ratings/{rating_id}/replies"): Req(body=_const({"body": "我们会跟进"})),
    ("POST", "/api/v1/ratings/{rating_id}/decline"): Req(body=_const({"reason": "已解释"})),
    ("GET", "/api/v1/tickets/{ticket_id}/ratings"): Req(params={"ticket_id": _v("rated_ticket")}),
}


# Integrations (issue 14, app/integrations): the admin API, city-wide like the catalogue; the
# hooks answer only a signed request (docs/integrations.md), so every bearer token gets 401.
# These rows run after DELETE /api/v1/me, so the resident's token no longer works (401); the
# other non-admin roles show the 403. The world's tickets are residents' reports, none a hotline
# case, so a case's caller details are not found for anyone (tests/integrations/test_hotline.py
# covers who sees them on a real one).
MATRIX_TABLE += """\
GET    /api/v1/admin/integrations                         | 401     | 401     | 403     | 403     | 403     | 403     | ok
POST   /api/v1/admin/integrations                         | 401     | 401     | 403     | 403     | 403     | 403     | ok
PATCH  /api/v1/admin/integrations/{code}                  | 401     | 401     | 403     | 403     | 403     | 403     | ok
POST   /api/v1/admin/integrations/{code}/keys             | 401     | 401     | 403     | 403     | 403     | 403     | ok
POST   /api/v1/hooks/ping                                 | 401     | 401     | 401     | 401     | 401     | 401     | 401
POST   /api/v1/hooks/hotline12345/orders                  | 401     | 401     | 401     | 401     | 401     | 401     | 401
POST   /api/v1/hotline/cases                              | 401     | 401     | 403     | 403     | 403     | ok/403  | 403
GET    /api/v1/hotline/cases/{ticket_id}                  | 401     | 401     | 404     | 404     | 404     | 404     | 404
POST   /api/v1/hotline/cases/{ticket_id}/callback         | 401     | 401     | 404     | 404     | 404     | 404     | 404
GET    /api/v1/feed/events                                | 401     | 401     | 403     | 403     | 403     | 403     | ok
"""
REQUESTS.update({
    # The admin's first call makes it, the second is a 409 (after the gate); the rows after
    # it edit the integration so made.
    ("POST", "/api/v1/admin/integrations"): Req(body=_const({
        "code": "matrix-hook", "name": "矩阵测试", "kind": "hotline12345"})),
    ("PATCH", "/api/v1/admin/integrations/{code}"): Req(params={"code": _const("matrix-hook")},
                                                        body=_const({"rate_per_minute": 60})),
    ("POST", "/api/v1/admin/integrations/{code}/keys"): Req(
        params={"code": _const("matrix-hook")}, body=_const({"overlap_minutes": 5})),
    ("POST", "/api/v1/hooks/ping"): Req(body=_const({"hello": "共治"})),
    ("POST", "/api/v1/hooks/hotline12345/orders"): Req(body=lambda w, s: {
        "order_number": f"M{next(_SERIAL)}", "category_code": "9901", "description": "来电",
        "location": w.value("point", s), "caller_phone": "13900000000"}),
    ("POST", "/api/v1/hotline/cases"): Req(body=lambda w, s: {
        "category_code": "9901", "description": "来电反映井盖松动", "location": w.value("point", s),
        "caller_name": "刘先生", "caller_phone": "13900000000"}),
    ("POST", "/api/v1/hotline/cases/{ticket_id}/callback"): Req(body=_const({
        "result": "satisfied"})),
})


# 督办 (issue 15, app/supervision): raised by dispatchers (and supervisors, a role without a
# column here: tests/supervision covers it) on a ticket in their area; read by staff who see the
# ticket; the ledger by dispatchers, supervisors and the unit's handlers. These rows run after
# DELETE /api/v1/me, so the resident's token no longer works (401).
MATRIX_TABLE += """\
POST   /api/v1/tickets/{ticket_id}/supervisions           | 401     | 401     | 403/404 | 403/404 | 403/404 | ok/404  | 403/404
GET    /api/v1/tickets/{ticket_id}/supervisions           | 401     | 401     | ok/404  | ok/404  | ok/404  | ok/404  | ok/404
GET    /api/v1/supervisions                               | 401     | 401     | 403     | ok      | 403     | ok      | 403
"""
REQUESTS.update({
    ("POST", "/api/v1/tickets/{ticket_id}/supervisions"): Req(body=lambda w, s: {
        "level": "normal", "note": "请加快办理",
        "deadline_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}),
})


# 考核 (issue 15 item 6, app/evaluation): read like the stats (staff of an area, 404 for an area
# outside it); the grade thresholds are read by the same staff and set by admins only. These
# rows run after DELETE /api/v1/me, so the resident's token no longer works (401).
MATRIX_TABLE += """\
GET    /api/v1/evaluation/units                           | 401     | 401     | 403     | 403     | ok/404  | ok/404  | ok/404
GET    /api/v1/evaluation/units.csv                       | 401     | 401     | 403     | 403     | ok/404  | ok/404  | ok/404
GET    /api/v1/evaluation/dispatchers                     | 401     | 401     | 403     | 403     | ok/404  | ok/404  | ok/404
GET    /api/v1/evaluation/dispatchers.csv                 | 401     | 401     | 403     | 403     | ok/404  | ok/404  | ok/404
GET    /api/v1/evaluation/workers                         | 401     | 401     | 403     | 403     | ok/404  | ok/404  | ok/404
GET    /api/v1/evaluation/workers.csv                     | 401     | 401     | 403     | 403     | ok/404  | ok/404  | ok/404
GET    /api/v1/evaluation/grades                          | 401     | 401     | 403     | 403     | ok      | ok      | ok
PUT    /api/v1/evaluation/grades/{kind}                   | 401     | 401     | 403     | 403     | 403     | 403     | ok
"""
REQUESTS.update({
    **{("GET", f"/api/v1/evaluation/{table}"): Req(query=_area_query) for table in (
        "units", "units.csv", "dispatchers", "dispatchers.csv", "workers", "workers.csv")},
    ("PUT", "/api/v1/evaluation/grades/{kind}"): Req(params={"kind": _const("unit")}, body=_const(
        {"rate": "handled_on_time_rate", "excellent": 0.9, "good": 0.75, "passing": 0.6})),
})

# 挂账/延期/回退/作废 requests (issue 15 item 4, app/approvals): asked on a ticket by the worker
# holding it or a dispatcher, decided by a supervisor (a role without a column here:
# tests/approvals covers it) or, for 延期 and 回退, a dispatcher; the register is read by
# supervisors and dispatchers of the area, the unit's handlers and the requester. The world's
# pending extension is mirrored in the register ("own"); "other" is a request in the other
# district. These rows run after DELETE /api/v1/me, so the resident's token no longer works.
MATRIX_TABLE += """\
POST   /api/v1/tickets/{ticket_id}/approvals              | 401     | 401     | ok/404  | ok/404  | 403/404 | ok/404  | 403/404
GET    /api/v1/approvals                                  | 401     | 401     | ok      | ok      | 403     | ok      | 403
GET    /api/v1/approvals/export.csv                       | 401     | 401     | ok      | ok      | 403     | ok      | 403
GET    /api/v1/approvals/rates                            | 401     | 401     | 403     | 403     | ok      | ok      | ok
GET    /api/v1/approvals/{approval_id}                    | 401     | 401     | 404     | ok/404  | 404     | ok/404  | 404
POST   /api/v1/approvals/{approval_id}/approve            | 401     | 401     | 404     | 403/404 | 404     | ok/404  | 404
POST   /api/v1/approvals/{approval_id}/deny               | 401     | 401     | 404     | 403/404 | 404     | ok/404  | 404
POST   /api/v1/tickets/{ticket_id}/resume                 | 401     | 401     | 403/404 | 403/404 | 403/404 | ok/404  | 403/404
"""
REQUESTS.update({
    ("POST", "/api/v1/tickets/{ticket_id}/approvals"): Req(body=_const({
        "kind": "send_back", "reason": "需多部门联合处置"})),
    ("GET", "/api/v1/approvals/rates"): Req(query=lambda w, s: {
        "from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "to": (datetime.now(UTC) + timedelta(days=1)).isoformat()}),
    ("POST", "/api/v1/approvals/{approval_id}/deny"): Req(body=_const({"note": "不同意"})),
})
_world_without_requests = build_world


async def build_world(client: httpx.AsyncClient) -> World:  # the world above, with requests
    from app.approvals.models import ApprovalRequest
    from app.tickets.models import Ticket

    world = await _world_without_requests(client)
    own = await ApprovalRequest.get(extension_id=world.value("extension_id", "own"))
    other_ticket = await Ticket.get(id=world.value("ticket_id", "other"))
    other = await ApprovalRequest.create(
        ticket_id=other_ticket.id, kind="void", area_path=other_ticket.area_path,
        unit_id=other_ticket.unit_id, requested_by_id=other_ticket.reporter_id,
        requester_role="dispatcher", reason="另区的申请", pending_key=f"{other_ticket.id}:void")
    world.ids["approval_id"] = {"own": own.id, "other": other.id}
    return world


# Cameras and sensors (issue 14 item 2, app/devices): the registry and the event-type table are
# admins' (devices in their areas: one in another district is 403 to register; an import lists
# such a row as a problem in its 422, after the gate). The world has no camera integration, so no
# device exists and one is not found even by its admin (tests/devices cover the registry). The
# review list is the dispatchers'; the world has no device event, so confirming one is not
# found. The hooks answer only a signed request. These rows run after DELETE /api/v1/me.
MATRIX_TABLE += """\
GET    /api/v1/admin/devices                              | 401     | 401     | 403     | 403     | 403     | 403     | ok
POST   /api/v1/admin/devices                              | 401     | 401     | 403     | 403     | 403     | 403     | ok/403
POST   /api/v1/admin/devices/import                       | 401     | 401     | 403     | 403     | 403     | 403     | ok
GET    /api/v1/admin/devices/{device_code}                | 401     | 401     | 403     | 403     | 403     | 403     | 404
PATCH  /api/v1/admin/devices/{device_code}                | 401     | 401     | 403     | 403     | 403     | 403     | 404
GET    /api/v1/admin/device-event-types                   | 401     | 401     | 403     | 403     | 403     | 403     | ok
PUT    /api/v1/admin/device-event-types/{event_type}      | 401     | 401     | 403     | 403     | 403     | 403     | ok
POST   /api/v1/hooks/devices/events                       | 401     | 401     | 401     | 401     | 401     | 401     | 401
POST   /api/v1/hooks/devices/heartbeats                   | 401     | 401     | 401     | 401     | 401     | 401     | 401
GET    /api/v1/devices/events/review                      | 401     | 401     | 403     | 403     | 403     | ok      | 403
POST   /api/v1/devices/events/{event_id}/confirm          | 401     | 401     | 403     | 403     | 403     | 404     | 403
POST   /api/v1/devices/events/{event_id}/discard          | 401     | 401     | 403     | 403     | 403     | 404     | 403
"""
REQUESTS.update({
    ("POST", "/api/v1/admin/devices"): Req(body=lambda w, s: {
        "code": f"M-{next(_SERIAL)}", "name": "矩阵摄像头", "kind": "camera",
        "location": w.value("point", s), "integration": "matrix-hook"}),
    ("POST", "/api/v1/admin/devices/import"): Req(body=lambda w, s: {
        "format": "csv", "content": "code,name,kind,lng,lat,integration\n"
        f"M-{next(_SERIAL)},矩阵,camera,{w.value('point', s)['lng']},"
        f"{w.value('point', s)['lat']},matrix-hook\n"}),
    **{(method, "/api/v1/admin/devices/{device_code}"): Req(
        params={"device_code": _const("M-NONE")}, body=_const({"name": "新名字"}))
       for method in ("GET", "PATCH")},
    ("PUT", "/api/v1/admin/device-event-types/{event_type}"): Req(
        params={"event_type": _const("smoke")}, body=_const({
            "label": "烟雾", "category_code": "9901", "urgency": "urgent",
            "min_confidence": 0.8})),
    ("POST", "/api/v1/hooks/devices/events"): Req(body=_const({
        "event_id": "matrix-1", "device_code": "M-NONE", "event_type": "smoke",
        "occurred_at": "2026-12-05T08:00:00+08:00", "confidence": 0.9})),
    ("POST", "/api/v1/hooks/devices/heartbeats"): Req(body=_const({"devices": ["M-NONE"]})),
    **{("POST", f"/api/v1/devices/events/{{event_id}}/{verb}"): Req(
        params={"event_id": _const(1)}, body=_const({}) if verb == "discard" else None)
       for verb in ("confirm", "discard")},
})

# Talking to the reporter (issue 15 item 5, app/conversation): staff of the ticket's scope
# post notes and ask the reporter; a grid worker or handler only for a task that is theirs. The
# world's "own" ticket is merged by the time these rows run, so every staff role in scope passes
# the gate and hears 409 (tests/conversation cover the duty: a grid worker is refused a
# department's task with 403 not_your_task). Reply templates are staff's to read and admins'/dispatchers' to keep; the
# world has none, so changing one is not found. These rows run after DELETE /api/v1/me.
MATRIX_TABLE += """\
POST   /api/v1/tickets/{ticket_id}/notes                  | 401     | 401     | ok/404  | ok/404  | ok/404  | ok/404  | 403/404
POST   /api/v1/tickets/{ticket_id}/info-requests          | 401     | 401     | ok/404  | ok/404  | ok/404  | ok/404  | 403/404
GET    /api/v1/reply-templates                            | 401     | 401     | ok      | ok      | ok      | ok      | ok
POST   /api/v1/reply-templates                            | 401     | 401     | 403     | 403     | 403     | ok      | ok
PATCH  /api/v1/reply-templates/{template_id}              | 401     | 401     | 403     | 403     | 403     | 404     | 404
"""
REQUESTS.update({
    **{("POST", f"/api/v1/tickets/{{ticket_id}}/{verb}"): Req(body=_const({
        "note": "已安排人员处理"})) for verb in ("notes", "info-requests")},
    ("POST", "/api/v1/reply-templates"): Req(body=_const({
        "purpose": "progress_note", "text": "正在处理中，请耐心等待。"})),
    ("PATCH", "/api/v1/reply-templates/{template_id}"): Req(
        params={"template_id": _const(999999)}, body=_const({"is_active": False})),
})


# 上报/升级 and 主办/协办 (issue 15 item 3, app/escalation): a case is escalated by whoever holds
# it or staff of its current level (the world's grid worker, then community staff, then the
# dispatcher each move "esc_ticket" one level up), accepted by staff of the new level (the
# world's pending escalation to the community), the level queues read by their staff; a
# dispatcher adds co-units, the co-unit's handler records its part ("co_ticket" is led by
# another unit, with the handler's unit as co-unit: its handler records the part, but adding
# or waiving co-units is the ticket's, which the co-unit does not hold: 404 as for any verb on
# a ticket one cannot act on). These rows run after DELETE /api/v1/me.
MATRIX_TABLE += """\
GET    /api/v1/escalations/queue                          | 401     | 401     | 403     | 403     | ok      | ok      | 403
GET    /api/v1/tickets/{ticket_id}/escalations            | 401     | 401     | ok/404  | ok/404  | ok/404  | ok/404  | ok/404
GET    /api/v1/tickets/{ticket_id}/co-handling            | 401     | 401     | ok/404  | ok/404  | ok/404  | ok/404  | ok/404
GET    /api/v1/co-handling/tasks                          | 401     | 401     | 403     | ok      | 403     | 403     | 403
POST   /api/v1/tickets/{ticket_id}/escalate               | 401     | 401     | ok/404  | 404     | ok/404  | ok/404  | 403/404
POST   /api/v1/escalations/{escalation_id}/accept         | 401     | 401     | 403/404 | 404     | ok/404  | ok/404  | 403/404
POST   /api/v1/tickets/{ticket_id}/co-handling            | 401     | 401     | 403/404 | 404     | 403/404 | ok/404  | 403/404
POST   /api/v1/tickets/{ticket_id}/co-handling/{unit_id}/report | 401     | 401     | 403/404 | ok/404  | 403/404 | 403/404 | 403/404
POST   /api/v1/tickets/{ticket_id}/co-handling/{unit_id}/waive | 401     | 401     | 403/404 | 404     | 403/404 | ok/404  | 403/404
"""
REQUESTS.update({
    ("GET", "/api/v1/escalations/queue"): Req(query=_const({"level": "community"})),
    ("GET", "/api/v1/tickets/{ticket_id}/escalations"): Req(params={"ticket_id": _v("esc_ticket")}),
    ("GET", "/api/v1/tickets/{ticket_id}/co-handling"): Req(params={"ticket_id": _v("co_ticket")}),
    ("POST", "/api/v1/tickets/{ticket_id}/escalate"): Req(
        params={"ticket_id": _v("esc_ticket")}, body=_const({"reason": "本级无法解决"})),
    ("POST", "/api/v1/escalations/{escalation_id}/accept"): Req(
        body=lambda w, s: {"unit_id": w.value("unit_id", s)}),
    ("POST", "/api/v1/tickets/{ticket_id}/co-handling"): Req(
        params={"ticket_id": _v("co_ticket")}, body=lambda w, s: {"unit_id": w.value("unit_id", s)}),
    ("POST", "/api/v1/tickets/{ticket_id}/co-handling/{unit_id}/report"): Req(
        params={"ticket_id": _v("co_ticket")}, body=_const({"note": "已配合处置"})),
    ("POST", "/api/v1/tickets/{ticket_id}/co-handling/{unit_id}/waive"): Req(
        params={"ticket_id": _v("co_ticket")}, body=_const({"reason": "无需协办"})),
})
_world_without_escalations = build_world


async def build_world(client: httpx.AsyncClient) -> World:  # the world above, with escalations
    from app.escalation.models import CoHandling
    from app.tickets.models import Ticket

    world = await _world_without_escalations(client)
    esc, acc, co, escalation = {}, {}, {}, {}
    for scope, area, point, reporter in (("own", "990100", OWN_POINT, "esc-own"),
                                         ("other", "990200", OTHER_POINT, "esc-other")):
        headers = await resident(client, reporter)
        _, dispatcher = await make_staff(Role.DISPATCHER, area_code=area)
        lead = await make_unit(f"主办单位{scope}", area_code=area)
        made = []
        for _ in range(3):
            made.append((await _ok(await client.post("/api/v1/tickets", headers=headers, json={
                "category_code": "9901", "description": "路面塌陷需多部门处置",
                "location": point, "address": "古槐路 12 号", "is_public": False})))["id"])
        esc[scope], acc[scope], co[scope] = made
        escalation[scope] = (await _ok(await client.post(
            f"/api/v1/tickets/{acc[scope]}/escalate", headers=dispatcher,
            json={"reason": "需社区协调"})))["id"]
        # Led by another unit, with the world's unit of the scope as its co-unit.
        await Ticket.filter(id=co[scope]).update(unit_id=lead.id)
        await CoHandling.create(ticket_id=co[scope], unit_id=world.value("unit_id", scope))
    world.ids.update(esc_ticket=esc, co_ticket=co, escalation_id=escalation)
    return world


# 热线推送 (issue 14, app/hotline): a dispatcher of the case's area forwards it to an outside
# body and records the body's answer; the record is read by the area's staff and the reporter
# (another who sees the case: 403). The world's ticket is dispatched (a unit holds it), so a
# dispatcher's forward and reply are 409 after the gate, and there is no record to read (404 for
# those who may read one). These rows run after DELETE /api/v1/me (the resident: 401).
MATRIX_TABLE += """\
POST   /api/v1/tickets/{ticket_id}/forward                | 401     | 401     | 403/404 | 403/404 | 403/404 | ok/404  | 403/404
GET    /api/v1/tickets/{ticket_id}/forward                | 401     | 401     | 403/404 | 403/404 | 404     | 404     | 404
POST   /api/v1/tickets/{ticket_id}/forward/reply          | 401     | 401     | 403/404 | 403/404 | 403/404 | ok/404  | 403/404
"""
REQUESTS.update({
    ("POST", "/api/v1/tickets/{ticket_id}/forward"): Req(body=_const({
        "body_name": "市供电公司", "reason": "不属于本区职责"})),
    ("POST", "/api/v1/tickets/{ticket_id}/forward/reply"): Req(body=_const({
        "reply": "已处理"})),
})


# --- the table, the routes, the run -----------------------------------------------------------
CLASSES = {"ok", "401", "403", "404"}


def parse_matrix(text: str) -> dict[tuple[str, str], dict[str, tuple[str, str]]]:
    rows: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
    for line in text.strip().splitlines():
        head, *cells = (part.strip() for part in line.split("|"))
        method, path = head.split()
        assert len(cells) == len(ROLES), f"{head}: {len(cells)} cells for {len(ROLES)} roles"
        row: dict[str, tuple[str, str]] = {}
        for role, cell in zip(ROLES, cells, strict=True):
            own, _, other = cell.partition("/")
            other = other or own
            assert {own, other} <= CLASSES, f"{head} {role}: {cell!r}"
            row[role] = (own, other)
        assert (method, path) not in rows, f"two rows for {head}"
        rows[(method, path)] = row
    return rows


MATRIX = parse_matrix(MATRIX_TABLE)


def api_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app routes under /api/, in the OpenAPI document's spelling."""
    routes = set()
    for route in app.router.routes:
        path = "/" + route.path.lstrip("/")
        if not path.startswith("/api/"):
            continue
        path = re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", path)
        for method in route.methods:
            if method not in {"HEAD", "OPTIONS"}:
                routes.add((method, path))
    return routes


def answer_class(status: int) -> str:
    """401/403/404 are the gate's answers; anything else but a crash came after the gate (502:
    WeChat is not reachable from the tests, and the WeChat rows' gate is what is judged)."""
    if status in (401, 403, 404):
        return str(status)
    assert status != 500, "server error 500"
    return "ok"


async def call(client: httpx.AsyncClient, world: World, method: str, path: str, role: str,
               scope: str) -> httpx.Response:
    req = REQUESTS.get((method, path), Req())

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        make = req.params.get(name, _v(name))
        return str(make(world, scope))

    url = re.sub(r"\{(\w+)\}", fill, path)
    kwargs: dict[str, Any] = {"headers": world.headers[role]}
    if req.query is not None:
        kwargs["params"] = req.query(world, scope)
    if req.body is not None:
        kwargs["json"] = req.body(world, scope)
    elif method in {"POST", "PUT", "PATCH"}:
        kwargs["json"] = {}
    return await client.request(method, url, **kwargs)


def test_every_endpoint_has_a_row(app: Any) -> None:
    routed = api_routes(app)
    missing = sorted(routed - set(MATRIX) - NOT_IN_MATRIX)
    stale = sorted((set(MATRIX) | NOT_IN_MATRIX) - routed)
    assert not missing, "endpoints without a row in the permission matrix: " + ", ".join(
        f"{m} {p}" for m, p in missing)
    assert not stale, "rows for endpoints the app no longer routes: " + ", ".join(
        f"{m} {p}" for m, p in stale)
    assert set(REQUESTS) <= routed, sorted(set(REQUESTS) - routed)


async def test_permission_matrix(app: Any, client: httpx.AsyncClient) -> None:
    from app.core import ratelimit
    from app.core import redis as redis_core

    redis = redis_core.client()
    world = await build_world(client)
    observe = os.environ.get("MATRIX_OBSERVE") == "1"
    order = list(MATRIX) if not observe else sorted(
        api_routes(app) - NOT_IN_MATRIX, key=lambda mp: list(MATRIX).index(mp)
        if mp in MATRIX else len(MATRIX))
    wrong: list[str] = []
    lines: list[str] = []
    notes: list[str] = []
    gaps: list[str] = []
    for method, path in order:
        cells = []
        for role in ROLES:
            got = []
            for scope in SCOPES:
                # Rate limits and the login lockout count every request of the run (in
                # memory, or in Redis when configured): not what is tested here.
                ratelimit.counters.memory = ratelimit.MemoryCounters()
                if redis is not None:
                    for pattern in ("rl:*", "login:fail:*"):
                        keys = [key async for key in redis.scan_iter(match=pattern)]
                        if keys:
                            await redis.delete(*keys)
                response = await call(client, world, method, path, role, scope)
                klass = answer_class(response.status_code)
                got.append(klass)
                if observe and klass == "ok" and response.status_code >= 300:
                    notes.append(f"  {method} {path} {role}/{scope}: {response.status_code} "
                                 f"{response.text[:120]}")
                want = MATRIX.get((method, path), {}).get(role, ("?", "?"))[SCOPES.index(scope)]
                gap = KNOWN_GAPS.get((method, path, role, scope))
                if not observe and gap is not None:
                    if klass == want:
                        wrong.append(f"{method} {path} as {role} ({scope}) now answers {want}: "
                                     "remove it from KNOWN_GAPS")
                    else:
                        gaps.append(f"{method} {path} as {role} ({scope}): {response.status_code}"
                                    f", should be {want} ({gap})")
                elif not observe and klass != want:
                    wrong.append(f"{method} {path} as {role} ({scope}): {response.status_code}, "
                                 f"the table says {want}: {response.text[:160]}")
            cells.append(got[0] if got[0] == got[1] else "/".join(got))
        lines.append(f"{method:6} {path:50} | " + " | ".join(cells))
    if observe:
        print("\n" + "\n".join(lines) + "\nok, but not 2xx:\n" + "\n".join(notes))
    if gaps:
        print(f"\n{len(gaps)} known gaps in the permission matrix:\n" + "\n".join(gaps))
    assert not wrong, f"{len(wrong)} cells differ from the table:\n" + "\n".join(wrong)

