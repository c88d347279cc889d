"""Residents find the polls of where they live and answer each once, with checked answers."""

from datetime import timedelta

from app.accounts.models import Role
from app.polls.models import PollAnswer, PollBallot
from tests.factories import error_code, make_staff
from tests.polls.helpers import (
    ACROSS_TOWN,
    COMMUNITY,
    GRID_1,
    SIBLING,
    STREET,
    close,
    create_poll,
    iso,
    neighbour,
    vote,
)

# Cell 990100001001001 spans lng 116.50–116.51, lat 35.40–35.41 (WGS-84).
IN_GRID_1 = {"lng": 116.505, "lat": 35.405, "crs": "wgs84"}
ACROSS_TOWN_POINT = {"lng": 116.535, "lat": 35.405, "crs": "wgs84"}


async def test_residents_see_the_open_polls_that_reach_their_home(client, town):
    community_poll = await create_poll(client, town.staff, title="社区投票")
    street_poll = await create_poll(client, town.street_staff, area_code=STREET, title="街道投票")
    await create_poll(client, town.other_staff, area_code=ACROSS_TOWN, title="别处的投票")
    await create_poll(client, town.staff, title="还没开始", opens_at=iso(timedelta(days=1)))

    in_grid = await neighbour(client, "alice", home=GRID_1)
    listed = (await client.get("/api/v1/polls", headers=in_grid)).json()
    assert [p["title"] for p in listed["items"]] == ["街道投票", "社区投票"]
    assert listed["area"]["code"] == GRID_1
    assert all(p["has_voted"] is False and p["respondent_count"] is None
               for p in listed["items"])

    next_door = await neighbour(client, "bob", home=SIBLING)
    seen = (await client.get("/api/v1/polls", headers=next_door)).json()
    assert [p["id"] for p in seen["items"]] == [street_poll["id"]]
    hidden = await client.get(f"/api/v1/polls/{community_poll['id']}", headers=next_door)
    assert hidden.status_code == 404 and error_code(hidden) == "poll_not_found"


async def test_a_resident_who_has_not_chosen_a_community_is_told_to(client, town):
    poll = await create_poll(client, town.staff)
    newcomer = await neighbour(client, "newcomer", home=None)
    for response in (await client.get("/api/v1/polls", headers=newcomer),
                     await client.get(f"/api/v1/polls/{poll['id']}", headers=newcomer),
                     await vote(client, newcomer, poll)):
        assert response.status_code == 409 and error_code(response) == "home_area_required"
        assert "选择您居住的社区" in response.json()["error"]["message"]

    await client.patch("/api/v1/me", json={"home_area_code": COMMUNITY}, headers=newcomer)
    assert (await vote(client, newcomer, poll)).status_code == 201


async def test_a_resident_finds_polls_where_they_stand(client, town):
    poll = await create_poll(client, town.staff)
    newcomer = await neighbour(client, "newcomer", home=None)
    here = await client.get("/api/v1/polls", params=IN_GRID_1, headers=newcomer)
    assert here.status_code == 200
    assert [p["id"] for p in here.json()["items"]] == [poll["id"]]
    assert here.json()["area"]["code"] == GRID_1  # the client offers it as "my community"

    there = await client.get("/api/v1/polls", params=ACROSS_TOWN_POINT, headers=newcomer)
    assert there.json()["items"] == []
    nowhere = await client.get("/api/v1/polls", headers=newcomer,
                               params={"lng": 100.0, "lat": 30.0, "crs": "wgs84"})
    assert nowhere.status_code == 422 and error_code(nowhere) == "outside_service_area"
    half = await client.get("/api/v1/polls", params={"lng": 116.505}, headers=newcomer)
    assert half.status_code == 422 and error_code(half) == "invalid_query"
    # Standing in the area is not living there: voting still needs a home area.
    assert error_code(await vote(client, newcomer, poll)) == "home_area_required"


async def test_a_resident_answers_once_and_a_second_try_is_refused(client, town):
    poll = await create_poll(client, town.staff)
    alice = await neighbour(client, "alice", home=GRID_1)
    before = (await client.get(f"/api/v1/polls/{poll['id']}", headers=alice)).json()
    assert before["has_voted"] is False and before["can_vote"] is True
    assert before["respondent_count"] is None  # staff only

    first = await vote(client, alice, poll, text="希望多装几盏路灯")
    assert first.status_code == 201
    assert first.json() == {"poll_id": poll["id"], "has_voted": True, "results_visible": True}
    second = await vote(client, alice, poll, single="no")
    assert second.status_code == 409 and error_code(second) == "already_voted"

    after = (await client.get(f"/api/v1/polls/{poll['id']}", headers=alice)).json()
    assert after["has_voted"] is True and after["can_vote"] is False
    listed = (await client.get("/api/v1/polls", headers=alice)).json()
    assert listed["items"][0]["has_voted"] is True
    assert await PollBallot.filter(poll_id=poll["id"]).count() == 1
    assert await PollAnswer.filter(poll_id=poll["id"]).count() == 4


async def test_an_optional_question_may_be_left_out(client, town):
    poll = await create_poll(client, town.staff)
    alice = await neighbour(client, "alice")
    assert (await vote(client, alice, poll)).status_code == 201
    assert await PollAnswer.filter(poll_id=poll["id"]).count() == 3


async def test_wrong_answers_are_refused_and_nothing_is_recorded(client, town):
    poll = await create_poll(client, town.staff)
    ids = {q["kind"]: q["id"] for q in poll["questions"]}
    alice = await neighbour(client, "alice")

    def with_(kind, **answer):
        body = {"answers": [{"question_id": ids["single"], "option_ids": ["yes"]},
                            {"question_id": ids["multiple"], "option_ids": ["1"]},
                            {"question_id": ids["scale"], "value": 3}]}
        body["answers"] = [a for a in body["answers"] if a["question_id"] != ids[kind]]
        body["answers"].append({"question_id": ids[kind], **answer})
        return body

    cases = [
        (with_("single", option_ids=["maybe"]), "unknown_option"),
        (with_("single", option_ids=["yes", "no"]), "too_many_choices"),
        (with_("multiple", option_ids=["1", "2", "3"]), "too_many_choices"),
        (with_("multiple", option_ids=["1", "1"]), "duplicate_option"),
        (with_("multiple", option_ids=["9"]), "unknown_option"),
        (with_("scale", value=6), "scale_out_of_range"),
        (with_("scale", value=0), "scale_out_of_range"),
        (with_("scale", option_ids=["1"]), "wrong_answer_kind"),
        (with_("single", text="支持"), "wrong_answer_kind"),
        (with_("text", text="路" * 21), "text_too_long"),
        (with_("scale"), "answer_required"),
        (with_("single", option_ids=[]), "answer_required"),
        ({"answers": [{"question_id": ids["single"], "option_ids": ["yes"]}]},
         "answer_required"),
        ({"answers": [{"question_id": 999999, "option_ids": ["yes"]}]}, "unknown_question"),
        ({"answers": [{"question_id": ids["single"], "option_ids": ["yes"]},
                      {"question_id": ids["single"], "option_ids": ["no"]}]},
         "duplicate_answer"),
    ]
    for body, code in cases:
        response = await client.post(f"/api/v1/polls/{poll['id']}/responses", json=body,
                                     headers=alice)
        assert response.status_code == 422, (code, response.text)
        assert error_code(response) == code, body
    shapeless = await client.post(f"/api/v1/polls/{poll['id']}/responses", headers=alice,
                                  json={"answers": [{"question_id": "one"}], "extra": True})
    assert shapeless.status_code == 422
    assert await PollBallot.filter(poll_id=poll["id"]).count() == 0
    assert await PollAnswer.filter(poll_id=poll["id"]).count() == 0
    assert (await vote(client, alice, poll, text="路" * 20)).status_code == 201


async def test_a_poll_of_only_optional_questions_still_needs_one_answer(client, town):
    poll = await create_poll(client, town.staff, questions=[
        {"kind": "text", "prompt": "有什么想说的？", "required": False}])
    alice = await neighbour(client, "alice")
    empty = await client.post(f"/api/v1/polls/{poll['id']}/responses", headers=alice,
                              json={"answers": [{"question_id": poll["questions"][0]["id"],
                                                 "text": "   "}]})
    assert empty.status_code == 422 and error_code(empty) == "empty_response"


async def test_voting_before_it_opens_or_after_it_closes_is_refused(client, town):
    alice = await neighbour(client, "alice")
    later = await create_poll(client, town.staff, opens_at=iso(timedelta(hours=2)))
    early = await vote(client, alice, later)
    assert early.status_code == 409 and error_code(early) == "poll_not_open"
    assert "尚未开始" in early.json()["error"]["message"]

    poll = await create_poll(client, town.staff)
    await close(client, town.staff, poll)
    late = await vote(client, alice, poll)
    assert late.status_code == 409 and error_code(late) == "poll_closed"
    detail = (await client.get(f"/api/v1/polls/{poll['id']}", headers=alice)).json()
    assert detail["status"] == "closed" and detail["can_vote"] is False
    assert await PollBallot.all().count() == 0


async def test_only_residents_of_the_area_may_answer(client, town):
    poll = await create_poll(client, town.staff)
    far = await neighbour(client, "far", home=ACROSS_TOWN)
    refused = await vote(client, far, poll)
    assert refused.status_code == 404 and error_code(refused) == "poll_not_found"
    staff = await vote(client, town.staff, poll)
    assert staff.status_code == 403 and error_code(staff) == "residents_only"
    _, worker = await make_staff(Role.GRID_WORKER, area_code=COMMUNITY)
    assert (await vote(client, worker, poll)).status_code == 403
    assert (await client.post("/api/v1/polls/999999/responses", headers=far,
                              json={"answers": []})).status_code == 404


async def test_a_resident_who_moves_away_still_sees_the_poll_they_answered(client, town):
    poll = await create_poll(client, town.staff)
    alice = await neighbour(client, "alice")
    assert (await vote(client, alice, poll)).status_code == 201
    await client.patch("/api/v1/me", json={"home_area_code": ACROSS_TOWN}, headers=alice)
    detail = await client.get(f"/api/v1/polls/{poll['id']}", headers=alice)
    assert detail.status_code == 200 and detail.json()["has_voted"] is True
    assert detail.json()["can_vote"] is False
    again = await vote(client, alice, poll)
    assert again.status_code == 409 and error_code(again) == "already_voted"
