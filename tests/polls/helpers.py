"""Shared pieces of the poll tests: a small town, a poll body, residents living somewhere."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.accounts.models import Role
from tests.factories import load_small_tree, make_staff, resident

# The small tree: community 990100001001 (东门第1社区) has grid cells …001 and …002;
# 990100001002 is its sibling community in the same street; 990100002001 is across town.
COMMUNITY = "990100001001"
GRID_1 = "990100001001001"
GRID_2 = "990100001001002"
SIBLING = "990100001002"
STREET = "990100001"
ACROSS_TOWN = "990100002001"
COMMUNITY_PATH = "/990100/990100001/990100001001/"


@dataclass
class Town:
    staff: dict  # community staff of COMMUNITY
    street_staff: dict  # community staff for the whole street
    other_staff: dict  # community staff across town
    admin: dict  # city-wide admin
    dispatcher: dict


async def build_town() -> Town:
    await load_small_tree()
    _, staff = await make_staff(Role.COMMUNITY_STAFF, area_code=COMMUNITY, name="吴社区")
    _, street_staff = await make_staff(Role.COMMUNITY_STAFF, area_code=STREET, name="钱街道")
    _, other_staff = await make_staff(Role.COMMUNITY_STAFF, area_code=ACROSS_TOWN, name="郑社区")
    _, admin = await make_staff(Role.ADMIN, name="冯管理")
    _, dispatcher = await make_staff(Role.DISPATCHER, area_code="990100", name="李派遣")
    return Town(staff=staff, street_staff=street_staff, other_staff=other_staff, admin=admin,
                dispatcher=dispatcher)


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def poll_body(**overrides):
    """Four questions, one of each kind; the free-text one is optional."""
    body = {
        "area_code": COMMUNITY,
        "title": "小区停车改造意见征集",
        "description": "计划改造东门第1社区的停车区域，请大家提意见。",
        "closes_at": iso(timedelta(days=7)),
        "is_anonymous": True,
        "results_visibility": "after_vote",
        "questions": [
            {"kind": "single", "prompt": "您是否支持改造？",
             "options": [{"id": "yes", "label": "支持"}, {"id": "no", "label": "不支持"}]},
            {"kind": "multiple", "prompt": "您希望增加哪些设施？（最多两项）", "max_choices": 2,
             "options": [{"label": "充电桩"}, {"label": "非机动车棚"}, {"label": "绿化"},
                         {"label": "照明"}]},
            {"kind": "scale", "prompt": "您对目前停车秩序的满意度"},
            {"kind": "text", "prompt": "其他建议", "max_length": 20, "required": False},
        ],
    }
    body.update(overrides)
    return body


async def create_poll(client, headers, **overrides) -> dict:
    response = await client.post("/api/v1/polls", json=poll_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def answers(poll, single="yes", multiple=("1", "3"), scale=4, text=None) -> dict:
    """A response to the poll from `poll_body`, by question kind."""
    ids = {q["kind"]: q["id"] for q in poll["questions"]}
    out = [{"question_id": ids["single"], "option_ids": [single]},
           {"question_id": ids["multiple"], "option_ids": list(multiple)},
           {"question_id": ids["scale"], "value": scale}]
    if text is not None:
        out.append({"question_id": ids["text"], "text": text})
    return {"answers": out}


async def neighbour(client, openid: str, home: str | None = COMMUNITY, name: str = "") -> dict:
    """A resident logged in through the dev login, living in `home` (None: not chosen yet)."""
    headers = await resident(client, openid, name)
    if home is not None:
        response = await client.patch("/api/v1/me", json={"home_area_code": home},
                                      headers=headers)
        assert response.status_code == 200, response.text
    return headers


async def close(client, headers, poll, reason="改造方案有变，本次征集提前结束"):
    return await client.post(f"/api/v1/polls/{poll['id']}/close", headers=headers,
                             json={"reason": reason})


async def vote(client, headers, poll, **kwargs):
    return await client.post(f"/api/v1/polls/{poll['id']}/responses", headers=headers,
                             json=answers(poll, **kwargs))
