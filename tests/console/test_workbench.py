"""The dispatcher's workbench through its HTTP routes: queues, filters, a case, its actions."""

from __future__ import annotations

import json
import re

from app.accounts.models import Role
from tests.console.helpers import sign_in
from tests.factories import make_staff
from tests.tickets.helpers import OTHER_STREET, report


def markers(page: str) -> list[dict]:
    match = re.search(r'<script type="application/json" id="markers">(.*?)</script>', page, re.S)
    assert match, "no map data on the page"
    return json.loads(match.group(1).replace("<\\/", "</"))


async def test_a_new_report_waits_in_the_accept_queue_on_the_list_and_the_map(client, city):
    ticket = await report(client, city.resident, category="9902")  # 噪音扰民: manual 立案
    await sign_in_dispatcher(client)
    page = await client.get("/console/?queue=accept")
    assert page.status_code == 200
    assert ticket["number"] in page.text and "噪音扰民" in page.text
    # The list does not wait for the tab counts: the tabs load them in a request of their own.
    assert 'class="count"' not in page.text and "/console/queue-counts?queue=accept" in page.text
    tabs = await client.get("/console/queue-counts?queue=accept", headers={"HX-Request": "true"})
    assert re.search(r'待受理\s*<span class="count">1</span>', tabs.text)
    [marker] = markers(page.text)
    assert marker["id"] == ticket["id"]
    assert (marker["lng"], marker["lat"]) == (ticket["location"]["lng"], ticket["location"]["lat"])
    grid = await client.get("/console/map/grid.geojson")
    assert grid.status_code == 200
    assert len(grid.json()["features"]) == 8  # the district's cells, as drawn on the map


async def test_filters_live_in_the_url_and_narrow_the_list(client, city):
    noisy = await report(client, city.resident, category="9902")
    other = await report(client, city.resident, category="9902", location=OTHER_STREET,
                         description="楼下广场舞音响太大声")
    await sign_in_dispatcher(client)
    by_keyword = await client.get("/console/?queue=accept&q=广场舞")
    assert other["number"] in by_keyword.text and noisy["number"] not in by_keyword.text
    by_area = await client.get("/console/?queue=accept&area=990100001")
    assert noisy["number"] in by_area.text and other["number"] not in by_area.text
    fragment = await client.get("/console/?queue=accept&area=990100001",
                                headers={"HX-Request": "true", "HX-Target": "queue-body"})
    assert "<html" not in fragment.text and noisy["number"] in fragment.text
    assert 'hx-swap-oob="true"' in fragment.text  # the filter form learns the current tab


async def test_a_major_category_lists_its_minor_ones_in_the_console_and_the_api(client, city):
    noise = await report(client, city.resident, category="9902")
    litter = await report(client, city.resident, category="9904")
    await sign_in_dispatcher(client)
    major = await client.get("/console/?queue=all&category=99")
    assert noise["number"] in major.text and litter["number"] in major.text
    minor = await client.get("/console/?queue=all&category=9904")
    assert litter["number"] in minor.text and noise["number"] not in minor.text
    api = await client.get("/api/v1/tickets", headers=city.dispatcher, params={"category": "99"})
    assert {t["id"] for t in api.json()["items"]} >= {noise["id"], litter["id"]}
    other = await client.get("/api/v1/tickets", headers=city.dispatcher,
                             params={"category": "9901"})
    assert noise["id"] not in {t["id"] for t in other.json()["items"]}
    assert (await client.get("/console/?queue=all&category=77")).status_code == 404


async def test_a_keyword_searches_recent_reports_and_a_case_number_any(client, city):
    from datetime import UTC, datetime, timedelta

    from app.tickets.models import Ticket

    old = await report(client, city.resident, category="9902", description="楼下广场舞音响太大声")
    new = await report(client, city.resident, category="9902", description="夜里广场舞又开始了")
    await Ticket.filter(id=old["id"]).update(created_at=datetime.now(UTC) - timedelta(days=120))
    await sign_in_dispatcher(client)
    recent = await client.get("/console/?queue=all&q=广场舞")
    assert new["number"] in recent.text and old["number"] not in recent.text
    assert "近 30 天" in recent.text  # the form says what a keyword searches
    since = (datetime.now(UTC) - timedelta(days=200)).date().isoformat()
    longer = await client.get(f"/console/?queue=all&q=广场舞&from={since}")
    assert new["number"] in longer.text and old["number"] in longer.text
    by_number = await client.get(f"/console/?queue=all&q={old['number']}")
    assert old["number"] in by_number.text and new["number"] not in by_number.text


async def test_a_dispatcher_accepts_a_case_and_the_list_is_told_to_refresh(client, city):
    ticket = await report(client, city.resident, category="9902")
    csrf = await sign_in_dispatcher(client)
    case = await client.get(f"/console/tickets/{ticket['id']}", headers={"HX-Request": "true"})
    assert case.status_code == 200
    assert "立案" in case.text and "不予立案" in case.text  # what the workflow table allows
    assert "派遣" not in re.sub(r"派遣(依据|单位)", "", case.text.split("可执行的操作")[1])
    response = await client.post(f"/console/tickets/{ticket['id']}/actions/accept",
                                 data={"version": ticket["version"]},
                                 headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    assert "已立案" in response.text
    assert json.loads(response.headers["HX-Trigger"]) == {"ticket-changed": {"id": ticket["id"]}}
    api = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.dispatcher)
    assert api.json()["status"] in ("accepted", "dispatched")


async def test_the_tab_counts_follow_an_action_at_once(client, city):
    ticket = await report(client, city.resident, category="9902")
    csrf = await sign_in_dispatcher(client)
    htmx = {"HX-Request": "true"}
    tabs = await client.get("/console/queue-counts", headers=htmx)
    assert re.search(r'待受理\s*<span class="count">1</span>', tabs.text)
    # Within the cache's window the list shows the counts it has, with no request of its own.
    listed = await client.get("/console/?queue=accept", headers={**htmx, "HX-Target": "queue-body"})
    assert re.search(r'待受理\s*<span class="count">1</span>', listed.text)
    await client.post(f"/console/tickets/{ticket['id']}/actions/accept",
                      data={"version": ticket["version"]}, headers={**htmx, "X-CSRF-Token": csrf})
    # The list refreshes after the action (recount) and its tabs count again, not from the cache.
    refreshed = await client.get("/console/?queue=accept&recount=1",
                                 headers={**htmx, "HX-Target": "queue-body"})
    assert ticket["number"] not in refreshed.text
    assert "/console/queue-counts?queue=accept&amp;fresh=1" in refreshed.text
    tabs = await client.get("/console/queue-counts?queue=accept&fresh=1", headers=htmx)
    assert re.search(r'待受理\s*<span class="count">0</span>', tabs.text)
    assert (await client.get("/console/queue-counts", headers=htmx)).text == tabs.text


async def test_an_action_without_the_csrf_token_is_refused(client, city):
    ticket = await report(client, city.resident, category="9902")
    await sign_in_dispatcher(client)
    response = await client.post(f"/console/tickets/{ticket['id']}/actions/accept",
                                 data={"version": ticket["version"]})
    assert response.status_code == 403 and "CSRF" in response.text
    wrong = await client.post(f"/console/tickets/{ticket['id']}/actions/accept",
                              data={"version": ticket["version"]},
                              headers={"X-CSRF-Token": "not-the-token"})
    assert wrong.status_code == 403
    api = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.dispatcher)
    assert api.json()["status"] == "submitted"


async def test_a_stale_version_answers_with_a_clear_message_and_the_current_state(client, city):
    ticket = await report(client, city.resident, category="9902")
    csrf = await sign_in_dispatcher(client)
    # Meanwhile another dispatcher re-files it under another category through the API.
    moved = await client.post(f"/api/v1/tickets/{ticket['id']}/recategorise",
                              json={"category_code": "9903", "version": ticket["version"]},
                              headers=city.dispatcher)
    assert moved.status_code == 200, moved.text
    response = await client.post(f"/console/tickets/{ticket['id']}/actions/accept",
                                 data={"version": ticket["version"]},
                                 headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert response.status_code == 409
    assert "已被他人更新" in response.text
    assert "违章搭建" in response.text  # the case as it is now
    assert f'name="version" value="{moved.json()["version"]}"' in response.text
    api = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.dispatcher)
    assert api.json()["status"] == "submitted"


async def test_an_action_the_state_no_longer_allows_says_so(client, city):
    ticket = await report(client, city.resident, category="9902")
    csrf = await sign_in_dispatcher(client)
    accepted = await client.post(f"/api/v1/tickets/{ticket['id']}/accept",
                                 json={"version": ticket["version"]}, headers=city.dispatcher)
    assert accepted.status_code == 200, accepted.text
    response = await client.post(f"/console/tickets/{ticket['id']}/actions/reject",
                                 data={"version": ticket["version"], "reason": "重复上报"},
                                 headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert response.status_code == 409
    assert "不能执行此操作" in response.text and accepted.json()["status_label"] in response.text


async def test_another_communitys_dispatcher_cannot_see_or_act_on_the_case(client, city):
    ticket = await report(client, city.resident, category="9902")  # in street 990100001
    await make_staff(Role.DISPATCHER, area_code="990100002", username="west")
    csrf = await sign_in(client, "west")
    page = await client.get("/console/?queue=accept")
    assert page.status_code == 200 and ticket["number"] not in page.text
    assert (await client.get(f"/console/tickets/{ticket['id']}")).status_code == 404
    acted = await client.post(f"/console/tickets/{ticket['id']}/actions/accept",
                              data={"version": ticket["version"]},
                              headers={"X-CSRF-Token": csrf})
    assert acted.status_code == 404
    outside = await client.get("/console/?queue=accept&area=990100001")
    assert outside.status_code == 404


async def test_an_unroutable_case_is_dispatched_from_the_dispatch_queue(client, city):
    # Outside the grid team's cells and without a routing rule: nobody is found for it.
    ticket = await report(client, city.resident, category="9902", location=OTHER_STREET)
    csrf = await sign_in_dispatcher(client)
    accept = await client.post(f"/console/tickets/{ticket['id']}/actions/accept",
                               data={"version": ticket["version"]},
                               headers={"X-CSRF-Token": csrf})
    assert accept.status_code == 200
    queue = await client.get("/console/?queue=dispatch")
    assert ticket["number"] in queue.text
    case = await client.get(f"/console/tickets/{ticket['id']}")
    version = re.search(r'name="version" value="(\d+)"', case.text).group(1)
    assert "环卫服务中心" in case.text  # the dispatch form offers the units
    done = await client.post(f"/console/tickets/{ticket['id']}/actions/dispatch",
                             data={"version": version, "unit_id": city.other_department.id},
                             headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and "已派遣" in done.text
    api = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.dispatcher)
    assert api.json()["unit"]["id"] == city.other_department.id


async def sign_in_dispatcher(client) -> str:
    """`city` made a dispatcher for the district; give them a username to sign in with."""
    from app.accounts.models import RoleGrant, User

    grant = await RoleGrant.filter(role=Role.DISPATCHER).select_related("user").first()
    user: User = grant.user
    return await sign_in(client, user.username)
