"""The ticket page reads little (docs/benchmarks.md, "Tickets"): the caller in one statement,
then the ticket, its events with their actors and its photos with their files; the page still
says everything it said (actors' labels, the assignee, whether the caller follows it)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from tests.tickets.helpers import build_city, report


class _Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sent: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        query = str(record.args[0] if record.args else record.msg)
        # The periodic configuration check (every CONFIG_CHECK_S) is not the page's doing.
        if "config_revisions" in query and "users" not in query:
            return
        self.sent.append(query)


@contextmanager
def statements() -> Iterator[list[str]]:
    handler = _Statements()
    logger = logging.getLogger("tortoise.db_client")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler.sent
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_the_reporters_page_costs_four_statements_with_authentication(client):
    city = await build_city(client)
    ticket = await report(client, city.resident)
    await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.resident)  # warm caches
    with statements() as sent:
        page = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.resident)
    assert page.status_code == 200
    assert len(sent) == 4, "\n".join(sent)  # caller, ticket, events + actors, photos + files
    body = page.json()
    assert body["is_mine"] is True
    assert [step["action"] for step in body["timeline"]] == ["submit", "auto_accept", "dispatch"]
    assert body["timeline"][0]["actor_label"] == "居民"


async def test_staff_labels_assignee_and_following_survive_the_folded_reads(client):
    city = await build_city(client)
    ticket = await report(client, city.resident, category="9904")  # to the grid team
    claimed = await client.post(f"/api/v1/tasks/{ticket['id']}/claim", json={},
                                headers=city.worker)
    assert claimed.status_code == 200, claimed.text

    staff = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.community_staff)
    assert staff.status_code == 200
    assert staff.json()["assignee_label"] == "网格员 王"  # a grid team's task: not 处置人员
    assert staff.json()["timeline"][-1]["actor_label"] == "网格员 王"
    assert staff.json()["is_mine"] is False

    mine = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.resident)
    assert mine.json()["assignee_label"] == "网格员 王" and mine.json()["is_mine"] is True

    followed = await client.post(f"/api/v1/tickets/{ticket['id']}/follow",
                                 headers=city.other_resident)
    assert followed.status_code in (200, 201), followed.text
    other = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.other_resident)
    assert other.status_code == 200
    assert other.json()["is_mine"] is True and other.json()["assignee_label"] is None
    assert other.json()["timeline"][-1]["actor_label"] == "网格员"  # the public's view: no name


async def test_a_staff_list_page_is_two_statements_and_keeps_its_rows_facts(client):
    city = await build_city(client)
    first = await report(client, city.resident, category="9904")
    await report(client, city.resident)
    assert (await client.post(f"/api/v1/tasks/{first['id']}/claim", json={},
                              headers=city.worker)).status_code == 200
    assert (await client.post(f"/api/v1/tickets/{first['id']}/follow",
                              headers=city.dispatcher)).status_code in (200, 201)
    await client.get("/api/v1/tickets", headers=city.dispatcher)  # warm caches
    with statements() as sent:
        page = await client.get("/api/v1/tickets", headers=city.dispatcher)
    assert page.status_code == 200
    assert len(sent) == 2, "\n".join(sent)  # caller, the page with its rows' facts
    rows = {row["id"]: row for row in page.json()["items"]}
    assert rows[first["id"]]["is_mine"] is True  # followed
    assert rows[first["id"]]["assignee_label"] == "网格员 王"
    others = [row for tid, row in rows.items() if tid != first["id"]]
    assert [(row["is_mine"], row["assignee_label"]) for row in others] == [(False, None)]


async def test_a_departments_task_is_labelled_with_its_handler(client):
    city = await build_city(client)
    ticket = await report(client, city.resident)  # 9901 goes to the department
    claimed = await client.post(f"/api/v1/tasks/{ticket['id']}/claim", json={},
                                headers=city.handler)
    assert claimed.status_code == 200, claimed.text
    page = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.resident)
    assert page.json()["assignee_label"] == "处置人员 陈"


async def test_a_claim_and_a_handling_answer_what_the_page_then_shows(client):
    """The actions answer from the row they wrote (no read-back): the same page, to the field."""
    city = await build_city(client)
    ticket = await report(client, city.resident, category="9904")  # to the grid team
    claimed = await client.post(f"/api/v1/tasks/{ticket['id']}/claim", json={},
                                headers=city.worker)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["status"] == "claimed"
    assert claimed.json()["version"] == ticket["version"] + 1
    page = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.worker)
    assert claimed.json() == page.json()

    handled = await client.post(f"/api/v1/tasks/{ticket['id']}/handle", headers=city.worker,
                                json={"note": "已清理", "version": claimed.json()["version"]})
    assert handled.status_code == 200, handled.text
    assert handled.json()["status"] == "verifying"  # handled, then sent to 核查
    assert handled.json()["version"] == ticket["version"] + 3
    page = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.worker)
    assert handled.json() == page.json()


async def test_the_pages_prepared_reads_return_what_tortoises_own_queries_return(client, city):
    """The page's statements are built once per process (`reads.Prepared`): their rows must
    be the values Tortoise's own queries give, times, enums and booleans alike."""
    from app.tickets import reads
    from app.tickets.models import Ticket, TicketEvent, TicketMedia
    from app.tickets.queries import LIST_FIELDS
    from tests.tickets.test_repeatable import photo, post

    tid = (await report(client, city.resident, "9904"))["id"]
    media_id = await photo(client, city.resident)
    added = await post(client, f"/tickets/{tid}/info", city.resident, note="晚上路灯也不亮",
                       media_ids=[media_id])
    assert added.status_code == 200, added.text
    row = await reads.ticket_row(tid, LIST_FIELDS)
    assert vars(row) == (await Ticket.filter(id=tid).values(*LIST_FIELDS))[0]
    events, actors = await reads.timeline(tid)
    assert [vars(e) for e in events] == await TicketEvent.filter(ticket_id=tid).order_by(
        "id").values(*reads.EVENT_FIELDS, actor_surname="actor__surname")
    assert [e.action for e in events][-1] == "add_info"
    links = await TicketMedia.filter(ticket_id=tid).order_by("id")
    assert [(event_id, stage, medium.id) for event_id, stage, medium in await reads.photos(tid)
            ] == [(link.event_id, link.stage, link.media_id) for link in links] != []
    assert await reads.ticket_row(tid + 1000, LIST_FIELDS) is None


async def test_a_handling_and_its_verification_request_are_one_write(client):
    """Handle and the 核查 request that follows it are written together (issue 16): one
    conditional update of the ticket, both events, and still one version per step."""
    city = await build_city(client)
    ticket = await report(client, city.resident, category="9904")  # to the grid team
    claimed = await client.post(f"/api/v1/tasks/{ticket['id']}/claim", json={},
                                headers=city.worker)
    assert claimed.status_code == 200, claimed.text
    with statements() as sent:
        handled = await client.post(f"/api/v1/tasks/{ticket['id']}/handle", headers=city.worker,
                                    json={"note": "已清理", "version": claimed.json()["version"]})
    assert handled.status_code == 200, handled.text
    updates = [q for q in sent if q.lstrip().upper().startswith("UPDATE")
               and "tickets" in q.split("SET")[0]]
    assert len(updates) == 1, "\n".join(sent)
    body = handled.json()
    assert (body["status"], body["version"]) == ("verifying", claimed.json()["version"] + 2)
    steps = body["timeline"][-2:]
    assert [s["action"] for s in steps] == ["handle", "request_verification"]
    assert steps[0]["created_at"] == steps[1]["created_at"]


async def test_followers_are_asked_for_only_when_the_ticket_counts_some(client):
    """A ticket nobody follows costs no follower look-ups (its `follower_count` is 0); once a
    resident follows it, they hear of the handling and the worker's page still asks."""
    from tests.notifications.helpers import deliver_all, messages

    city = await build_city(client)
    ticket = await report(client, city.resident, category="9904")  # to the grid team
    claimed = await client.post(f"/api/v1/tasks/{ticket['id']}/claim", json={},
                                headers=city.worker)
    with statements() as sent:
        page = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=city.worker)
    assert page.status_code == 200 and page.json()["follower_count"] == 0
    assert not [q for q in sent if "ticket_followers" in q], "\n".join(sent)

    followed = await client.post(f"/api/v1/tickets/{ticket['id']}/follow",
                                 headers=city.other_resident)
    assert followed.status_code == 200 and followed.json()["follower_count"] == 1
    with statements() as sent:
        handled = await client.post(f"/api/v1/tasks/{ticket['id']}/handle", headers=city.worker,
                                    json={"note": "已清理", "version": claimed.json()["version"]})
    assert handled.status_code == 200, handled.text
    assert [q for q in sent if "ticket_followers" in q]  # the notices' recipients
    await deliver_all()
    titles = [m["title"] for m in (await messages(client, city.other_resident))["items"]]
    assert titles == ["案件已处置"]  # told of the handling (the claim is not told)
    follower_page = await client.get(f"/api/v1/tickets/{ticket['id']}",
                                     headers=city.other_resident)
    assert follower_page.status_code == 200 and follower_page.json()["is_mine"] is True
