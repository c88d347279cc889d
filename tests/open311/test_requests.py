"""A client app files a request, follows it by token, and reads public requests and updates."""

import json
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from app.open311.models import Open311Request
from app.tickets.models import Ticket
from tests.open311 import schemas
from tests.open311.helpers import (
    BASE,
    as_json,
    as_xml,
    children,
    client_app,
    post_report,
    report_form,
)
from tests.tickets.helpers import IN_CELL, report

REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name",
                  "service_code", "description", "agency_responsible", "service_notice",
                  "requested_datetime", "updated_datetime", "expected_datetime", "address",
                  "address_id", "zipcode", "lat", "long", "media_url"]
CONTACT = {"email": "zhangsan@example.cn", "first_name": "晓芸", "last_name": "欧阳",
           "phone": "13800138000", "account_id": "acct-7788", "device_id": "dev-5566"}


async def post(client, path, headers, **body):
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_post_without_a_key_or_with_a_bad_or_deactivated_one_is_403(client, city):
    app = await client_app(client)
    form = report_form(app.api_key)
    for key in ("", "o311_not-a-key"):
        refused = await client.post(f"{BASE}/requests.json", data={**form, "api_key": key})
        errors = as_json(refused, schemas.ERRORS, status=403)
        assert errors[0]["code"] == 403
        xml = as_xml(await client.post(f"{BASE}/requests.xml", data={**form, "api_key": key}),
                     "errors", status=403)
        assert xml.findtext("error/code") == "403"
    deactivated = await client.post("/api/v1/admin/open311/clients/fms-test/deactivate",
                                    headers=app.admin, json={})
    assert deactivated.status_code == 200 and deactivated.json()["is_active"] is False
    gone = await client.post(f"{BASE}/requests.json", data=form)
    assert gone.status_code == 403
    assert await Ticket.all().count() == 0


async def test_bad_input_is_a_400_error_list_never_a_500(client, city):
    app = await client_app(client)
    cases = [
        ({"service_code": ""}, 400), ({"service_code": "0000"}, 404),
        ({"lat": ""}, 400), ({"lat": "north"}, 400), ({"long": "999"}, 400),
        ({"description": "长" * 1001}, 400), ({"media_url": "javascript:alert(1)"}, 400),
        # Far from every grid cell: not this platform's to handle.
        ({"lat": "10.0", "long": "10.0"}, 400),
    ]
    for change, status in cases:
        response = await client.post(f"{BASE}/requests.json",
                                     data={**report_form(app.api_key), **change})
        as_json(response, schemas.ERRORS, status=status)
    assert await Ticket.all().count() == 0


async def test_a_posted_request_is_a_ticket_from_open311_with_its_contact_kept_apart(client,
                                                                                     city):
    app = await client_app(client)
    response = await client.post(f"{BASE}/requests.json", data=report_form(
        app.api_key, service_code="9902", **CONTACT, **{"attribute[floor]": "3",
                                                          "attribute[kind][]": ["a", "b"]},
        media_url="https://img.example.cn/p/1.jpg"))
    created = as_json(response, schemas.CREATED, status=201)
    token = created[0]["token"]
    assert created[0]["account_id"] == "acct-7788"
    link = await Open311Request.get(token=token)
    assert (link.email, link.phone, link.first_name, link.last_name) == (
        CONTACT["email"], CONTACT["phone"], "晓芸", "欧阳")
    assert link.answers == {"floor": "3", "kind": ["a", "b"]}

    # Staff see an ordinary ticket whose source is open311, placed and waiting for 立案.
    detail = (await client.get(f"/api/v1/tickets/{link.ticket_id}",
                               headers=city.dispatcher)).json()
    assert detail["source"] == "open311" and detail["status"] == "submitted"
    assert detail["category"]["code"] == "9902"
    assert "zhangsan" not in str(detail) and "13800138000" not in str(detail)

    xml = as_xml(await client.post(f"{BASE}/requests.xml", data=report_form(app.api_key)),
                 "service_requests", status=201)
    assert children(xml.find("request")) == ["token", "service_notice", "account_id"]


async def test_a_request_appears_once_accepted_and_its_token_then_names_it(client, city):
    app = await client_app(client)
    token, ticket_id = await post_report(client, app.api_key, service_code="9902")
    pending = as_json(await client.get(f"{BASE}/tokens/{token}.json"), schemas.TOKENS)
    assert pending == [{"token": token}]
    assert as_json(await client.get(f"{BASE}/requests.json"), schemas.REQUESTS) == []

    await post(client, f"/api/v1/tickets/{ticket_id}/accept", city.dispatcher)
    number = (await Ticket.get(id=ticket_id)).number
    named = as_json(await client.get(f"{BASE}/tokens/{token}.json"), schemas.TOKENS)
    assert named == [{"service_request_id": number, "token": token}]
    xml_token = as_xml(await client.get(f"{BASE}/tokens/{token}.xml"), "service_requests")
    assert xml_token.findtext("request/service_request_id") == number

    rows = as_json(await client.get(f"{BASE}/requests.json"), schemas.REQUESTS)
    assert [r["service_request_id"] for r in rows] == [number]
    row = rows[0]
    assert list(row) == REQUEST_FIELDS
    assert (row["status"], row["status_notes"], row["service_code"]) == ("open", "已派遣", "9902")
    assert row["requested_datetime"].endswith("+08:00")
    assert (row["lat"], row["long"]) == (IN_CELL["lat"], IN_CELL["lng"])
    one = as_json(await client.get(f"{BASE}/requests/{number}.json"), schemas.REQUESTS)
    assert one == rows
    xml = as_xml(await client.get(f"{BASE}/requests/{number}.xml"), "service_requests")
    assert children(xml.find("request")) == REQUEST_FIELDS
    assert xml.findtext("request/status") == "open"

    assert (await client.get(f"{BASE}/tokens/nope.json")).status_code == 404


async def test_a_closed_ticket_is_closed_with_its_steps_in_the_updates(client, city):
    app = await client_app(client)
    _, tid = await post_report(client, app.api_key)  # 9904: auto-accepted, the grid team's
    await post(client, f"/api/v1/tasks/{tid}/claim", city.worker)
    await post(client, f"/api/v1/tasks/{tid}/handle", city.worker, note="王网格已清理干净")
    # Separation of duties: another grid worker of the cell verifies.
    await post(client, f"/api/v1/tickets/{tid}/verify", city.worker2, passed=True,
               note="赵网格现场核查")
    ticket = await Ticket.get(id=tid)
    closed = as_json(await client.get(f"{BASE}/requests.json", params={"status": "closed"}),
                     schemas.REQUESTS)
    assert [(r["service_request_id"], r["status"], r["status_notes"]) for r in closed] == [
        (ticket.number, "closed", "已结案")]
    assert closed[0]["agency_responsible"].endswith("网格工作站")
    assert as_json(await client.get(f"{BASE}/requests.json", params={"status": "open"}),
                   schemas.REQUESTS) == []

    updates = as_json(await client.get(f"{BASE}/servicerequestupdates.json"), schemas.UPDATES)
    assert [u["external_status_code"] for u in updates] == [
        "submitted", "accepted", "dispatched", "claimed", "handled", "verifying", "closed"]
    assert updates[-1]["status"] == "FIXED"
    assert {u["service_request_id"] for u in updates} == {ticket.number}
    xml = as_xml(await client.get(f"{BASE}/servicerequestupdates.xml"),
                 "service_request_updates")
    assert len(xml.findall("request_update")) == len(updates)
    assert xml.findtext("request_update/update_id") == updates[0]["update_id"]


async def test_no_person_appears_in_any_open311_answer(client, city):
    app = await client_app(client)
    token, tid = await post_report(client, app.api_key, **CONTACT)
    await post(client, f"/api/v1/tasks/{tid}/claim", city.worker)
    await post(client, f"/api/v1/tasks/{tid}/handle", city.worker, note="王网格已清理干净")
    await report(client, city.resident, "9904")  # a resident's own public report
    number = (await Ticket.get(id=tid)).number
    bodies = []
    for fmt in ("json", "xml"):
        for path in (f"requests.{fmt}", f"requests/{number}.{fmt}", f"tokens/{token}.{fmt}",
                     f"servicerequestupdates.{fmt}"):
            response = await client.get(f"{BASE}/{path}")
            assert response.status_code == 200, path
            bodies.append(response.content.decode("utf-8"))
    # The mini-program's public view of the same ticket: filed by the system, nobody named.
    public = await client.get(f"/api/v1/tickets/{tid}", headers=city.other_resident)
    assert public.status_code == 200 and public.json()["source"] == "open311"
    assert public.json()["timeline"][0]["actor_label"] == "系统"
    bodies.append(json.dumps(public.json(), ensure_ascii=False))  # its text escapes 汉字
    everything = "\n".join(bodies)
    assert everything.count("<request>") >= 2
    for secret in [*CONTACT.values(), "王网格", "赵网格", "李派遣", "alice", "dev-alice",
                   "随手拍 App", "fms-test", "已清理干净"]:
        assert secret not in everything, secret


async def test_private_and_held_tickets_stay_off_the_open311_face(client, city):
    await report(client, city.resident, "9904", is_public=False)
    held = await report(client, city.resident, "9904", description="这里有赌博网站的广告")
    assert held["content_held"] is True
    assert (await client.get(f"{BASE}/requests.json")).json() == []
    assert (await client.get(f"{BASE}/servicerequestupdates.json")).json() == []
    missing = await client.get(f"{BASE}/requests/{held['number']}.xml")
    root = ET.fromstring(missing.content)
    assert missing.status_code == 404 and root.tag == "errors"


async def test_the_filters_of_get_requests(client, city):
    dept = await report(client, city.resident, "9901")  # auto-accepted, a department's
    team = await report(client, city.resident, "9904")
    east = await report(client, city.resident, "9904", location={
        "lng": 116.535, "lat": 35.405, "crs": "wgs84"})

    async def ids(**params):
        rows = as_json(await client.get(f"{BASE}/requests.json", params=params),
                       schemas.REQUESTS)
        return [r["service_request_id"] for r in rows]

    assert await ids() == [east["number"], team["number"], dept["number"]]
    assert await ids(service_code="9901") == [dept["number"]]
    assert await ids(service_code="9901,9904") == [east["number"], team["number"],
                                                   dept["number"]]
    assert await ids(bbox="116.50,35.40,116.51,35.41") == [team["number"], dept["number"]]
    # service_request_id overrides every other filter (the spec).
    assert await ids(service_request_id=f"{dept['number']},{east['number']}",
                     service_code="9904") == [east["number"], dept["number"]]
    assert await ids(start_date="2001-01-01T00:00:00Z", end_date="2001-03-01T00:00:00Z") == []
    assert len(await ids(start_date="2000-01-01T00:00:00+08:00")) == 0
    assert len(await ids(end_date="2999-01-01T00:00:00Z")) == 0
    # A client that forgot to encode "+08:00": the "+" arrives as a space, and is understood.
    raw = await client.get(f"{BASE}/requests.json?start_date="
                           f"{datetime.now(UTC).date()}T00:00:00+08:00")
    assert len(as_json(raw, schemas.REQUESTS)) == 3
    for bad in ({"start_date": "yesterday"}, {"start_date": "2026-01-01T00:00:00"},
                {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
                {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
                {"status": "pending"}, {"bbox": "1,2,3"}, {"bbox": "3,2,1,0"}):
        as_json(await client.get(f"{BASE}/requests.json", params=bad), schemas.ERRORS,
                status=400)


async def test_staff_in_scope_read_the_contact_details_and_nobody_else(client, city):
    app = await client_app(client)
    _, tid = await post_report(client, app.api_key, **CONTACT)
    path = f"/api/v1/open311/tickets/{tid}/contact"
    contact = await client.get(path, headers=city.dispatcher)
    assert contact.status_code == 200, contact.text
    assert contact.json()["phone"] == "13800138000"
    assert contact.json()["client_name"] == "随手拍 App"
    worker = await client.get(path, headers=city.worker)  # the cell's grid worker
    assert worker.status_code == 200
    for outsider in (city.far_worker, city.other_resident, city.resident):
        refused = await client.get(path, headers=outsider)
        assert refused.status_code == 404 and "13800138000" not in refused.text
    # A resident's own report has no Open311 contact: 404 for staff too.
    own = await report(client, city.resident, "9904")
    missing = await client.get(f"/api/v1/open311/tickets/{own['id']}/contact",
                               headers=city.dispatcher)
    assert missing.status_code == 404


async def test_a_post_for_another_jurisdiction_is_404(client, city, monkeypatch):
    from app.settings import current

    monkeypatch.setattr(current(), "open311_jurisdiction_id", "liuhang.gov.cn")
    app = await client_app(client)
    wrong = await client.post(f"{BASE}/requests.json",
                              data=report_form(app.api_key, jurisdiction_id="other.gov.cn"))
    as_json(wrong, schemas.ERRORS, status=404)
    right = await client.post(f"{BASE}/requests.json",
                              data=report_form(app.api_key, jurisdiction_id="liuhang.gov.cn"))
    assert right.status_code == 201
    assert await Ticket.all().count() == 1


async def test_updates_come_from_the_window_asked_for(client, city):
    from datetime import timedelta

    from app.tickets.models import TicketEvent

    old = await report(client, city.resident, "9904")
    new = await report(client, city.resident, "9904")
    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    await TicketEvent.filter(ticket_id=old["id"]).update(created_at=ten_days_ago)

    async def numbers(**params):
        rows = as_json(await client.get(f"{BASE}/servicerequestupdates.json", params=params),
                       schemas.UPDATES)
        return {r["service_request_id"] for r in rows}

    since = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    assert await numbers(start_date=since) == {new["number"]}
    assert await numbers() == {old["number"], new["number"]}
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await numbers(start_date=later) == set()
    as_json(await client.get(f"{BASE}/servicerequestupdates.json",
                             params={"start_date": "soon"}), schemas.ERRORS, status=400)
