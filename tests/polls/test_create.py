"""Community staff create polls for their area, list them, close them early."""

from datetime import datetime, timedelta

from app.notifications.models import Outbox
from app.polls.models import Poll
from tests.factories import error_code
from tests.polls.helpers import (
    ACROSS_TOWN,
    COMMUNITY,
    COMMUNITY_PATH,
    close,
    create_poll,
    iso,
    neighbour,
    poll_body,
)


async def test_staff_create_a_poll_for_their_community(client, town):
    poll = await create_poll(client, town.staff)
    assert poll["status"] == "open" and poll["area"]["code"] == COMMUNITY
    assert poll["is_anonymous"] is True and poll["results_visibility"] == "after_vote"
    assert [q["kind"] for q in poll["questions"]] == ["single", "multiple", "scale", "text"]
    multiple = poll["questions"][1]
    assert [o["id"] for o in multiple["options"]] == ["1", "2", "3", "4"]  # ids by position
    assert (multiple["min_choices"], multiple["max_choices"]) == (1, 2)
    assert poll["questions"][3]["max_length"] == 20 and poll["questions"][3]["required"] is False
    assert poll["respondent_count"] == 0 and poll["has_voted"] is None  # staff view
    detail = await client.get(f"/api/v1/polls/{poll['id']}", headers=town.staff)
    assert detail.json() == poll


async def test_creating_a_poll_queues_one_notification_for_the_whole_area(client, town):
    poll = await create_poll(client, town.staff, opens_at=iso(timedelta(days=1)))
    rows = await Outbox.filter(kind="poll.opened")
    assert len(rows) == 1
    assert rows[0].recipient_id is None
    assert rows[0].payload == {"poll_id": poll["id"], "area_path": COMMUNITY_PATH,
                               "title": poll["title"], "closes_at": rows[0].payload["closes_at"]}
    assert datetime.fromisoformat(rows[0].payload["closes_at"]) == datetime.fromisoformat(
        poll["closes_at"])
    # Delivered when the poll opens, not before.
    assert rows[0].available_at == datetime.fromisoformat(poll["opens_at"])
    assert poll["status"] == "upcoming"


async def test_option_ids_may_be_given_as_numbers_and_come_back_as_text(client, town):
    body = poll_body(questions=[{"kind": "single", "prompt": "是否同意？",
                                 "options": [{"id": 10, "label": "同意"},
                                             {"id": 20, "label": "不同意"}]}])
    response = await client.post("/api/v1/polls", json=body, headers=town.staff)
    assert [o["id"] for o in response.json()["questions"][0]["options"]] == ["10", "20"]


async def test_residents_and_dispatchers_cannot_create_polls(client, town):
    alice = await neighbour(client, "alice")
    for headers in (alice, town.dispatcher):
        response = await client.post("/api/v1/polls", json=poll_body(), headers=headers)
        assert response.status_code == 403 and error_code(response) == "staff_only"


async def test_staff_cannot_poll_another_community(client, town):
    response = await client.post("/api/v1/polls", json=poll_body(area_code=ACROSS_TOWN),
                                 headers=town.staff)
    assert response.status_code == 403 and error_code(response) == "area_out_of_scope"
    unknown = await client.post("/api/v1/polls", json=poll_body(area_code="000000"),
                                headers=town.staff)
    assert unknown.status_code == 422 and error_code(unknown) == "unknown_area"
    assert await Outbox.filter(kind="poll.opened").count() == 0


async def test_badly_built_questions_are_refused_with_the_question_number(client, town):
    cases = [
        ({"kind": "single", "prompt": "只有一个选项", "options": [{"label": "是"}]}, "options"),
        ({"kind": "single", "prompt": "编号重复",
          "options": [{"id": "a", "label": "是"}, {"id": "a", "label": "否"}]}, "options"),
        ({"kind": "scale", "prompt": "评分带选项", "options": [{"label": "a"}, {"label": "b"}]},
         "options"),
        ({"kind": "multiple", "prompt": "最多超过选项数", "max_choices": 3,
          "options": [{"label": "a"}, {"label": "b"}]}, "max_choices"),
        ({"kind": "multiple", "prompt": "最少大于最多", "min_choices": 2, "max_choices": 1,
          "options": [{"label": "a"}, {"label": "b"}]}, "min_choices"),
        ({"kind": "single", "prompt": "单选设可选数", "max_choices": 1,
          "options": [{"label": "a"}, {"label": "b"}]}, "min_choices"),
        ({"kind": "scale", "prompt": "评分设字数", "max_length": 10}, "max_length"),
    ]
    for question, field in cases:
        body = poll_body(questions=[{"kind": "scale", "prompt": "第一题没问题"}, question])
        response = await client.post("/api/v1/polls", json=body, headers=town.staff)
        assert response.status_code == 422, (question, response.text)
        assert error_code(response) == "invalid_question"
        assert response.json()["error"]["details"] == {"position": 2, "field": field}
        assert response.json()["error"]["message"].startswith("第2题：")


async def test_bad_times_and_shapes_are_refused(client, town):
    ended = await client.post("/api/v1/polls", headers=town.staff,
                              json=poll_body(closes_at=iso(timedelta(minutes=-1))))
    assert ended.status_code == 422 and error_code(ended) == "invalid_period"
    backwards = await client.post("/api/v1/polls", headers=town.staff, json=poll_body(
        opens_at=iso(timedelta(days=3)), closes_at=iso(timedelta(days=2))))
    assert backwards.status_code == 422 and error_code(backwards) == "invalid_period"
    naive = await client.post("/api/v1/polls", headers=town.staff,
                              json=poll_body(closes_at="2099-01-01T00:00:00"))
    assert naive.status_code == 422
    for bad in ({"questions": []}, {"title": ""}, {"surprise": 1},
                {"questions": [{"kind": "ranking", "prompt": "排序"}]}):
        response = await client.post("/api/v1/polls", json=poll_body(**bad), headers=town.staff)
        assert response.status_code == 422, bad
    assert await Outbox.filter(kind="poll.opened").count() == 0


async def test_staff_list_the_polls_of_their_area_page_by_page(client, town):
    first = await create_poll(client, town.staff, title="第一次")
    second = await create_poll(client, town.street_staff, area_code="990100001002", title="邻社区")
    third = await create_poll(client, town.staff, title="第三次")
    await create_poll(client, town.other_staff, area_code=ACROSS_TOWN, title="别的社区")

    mine = (await client.get("/api/v1/polls", headers=town.staff)).json()
    assert [p["id"] for p in mine["items"]] == [third["id"], first["id"]]
    street = (await client.get("/api/v1/polls", headers=town.street_staff)).json()
    assert [p["id"] for p in street["items"]] == [third["id"], second["id"], first["id"]]

    page = (await client.get("/api/v1/polls", params={"limit": 2},
                             headers=town.street_staff)).json()
    assert len(page["items"]) == 2 and page["next"]
    rest = (await client.get("/api/v1/polls", params={"limit": 2, "cursor": page["next"]},
                             headers=town.street_staff)).json()
    assert [p["id"] for p in rest["items"]] == [first["id"]] and rest["next"] is None

    narrowed = (await client.get("/api/v1/polls", params={"area": COMMUNITY},
                                 headers=town.street_staff)).json()
    assert {p["id"] for p in narrowed["items"]} == {first["id"], third["id"]}
    foreign = await client.get("/api/v1/polls", params={"area": ACROSS_TOWN},
                               headers=town.staff)
    assert foreign.status_code == 404
    too_many = await client.get("/api/v1/polls", params={"limit": 101}, headers=town.staff)
    assert too_many.status_code == 422 and error_code(too_many) == "invalid_query"
    for cursor in ("abc", "9" * 30):
        bad = await client.get("/api/v1/polls", params={"cursor": cursor}, headers=town.staff)
        assert bad.status_code == 422 and error_code(bad) == "invalid_cursor"


async def test_staff_close_a_poll_early_saying_why(client, town):
    poll = await create_poll(client, town.staff)
    other = await close(client, town.other_staff, poll)
    assert other.status_code == 404
    no_reason = await client.post(f"/api/v1/polls/{poll['id']}/close", json={},
                                  headers=town.staff)
    assert no_reason.status_code == 422
    closed = await close(client, town.staff, poll)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    alice = await neighbour(client, "alice")
    seen = (await client.get(f"/api/v1/polls/{poll['id']}", headers=alice)).json()
    assert seen["close_reason"] == "改造方案有变，本次征集提前结束"
    assert await Poll.filter(id=poll["id"], closed_early_by_id__not_isnull=True).exists()
    again = await close(client, town.staff, poll)
    assert again.status_code == 409 and error_code(again) == "poll_closed"

    open_now = (await client.get("/api/v1/polls", params={"status": "open"},
                                 headers=town.staff)).json()
    assert open_now["items"] == []
    closed_list = (await client.get("/api/v1/polls", params={"status": "closed"},
                                    headers=town.staff)).json()
    assert [p["id"] for p in closed_list["items"]] == [poll["id"]]


async def test_closing_a_poll_that_never_opened_keeps_its_times_in_order(client, town):
    poll = await create_poll(client, town.staff, opens_at=iso(timedelta(days=2)))
    closed = (await close(client, town.staff, poll)).json()
    assert closed["status"] == "closed"
    assert closed["opens_at"] <= closed["closes_at"]
