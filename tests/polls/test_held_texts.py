"""Free-text answers pass the content check (here the local word list): a held text still
counts as an answer, staff see it marked for review, and it stays out of the results' texts
and the exports until a reviewer releases it. Voters never see free text at all."""

import csv
import io

from tests.factories import error_code
from tests.polls.helpers import create_poll, neighbour, vote
from tests.support import base_settings

WORD = "代开发票"


def url(poll, suffix=""):
    return f"/api/v1/polls/{poll['id']}{suffix}"


def text_question(results: dict) -> dict:
    [question] = [q for q in results["questions"] if q["kind"] == "text"]
    return question


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


async def test_a_held_answer_counts_but_waits_for_review_before_it_is_shown(client, town):
    base_settings(content_blocklist=WORD)
    poll = await create_poll(client, town.staff, is_anonymous=False)
    alice, bob = await neighbour(client, "alice"), await neighbour(client, "bob")
    assert (await vote(client, alice, poll, text=f"{WORD}找我")).status_code == 201
    assert (await vote(client, bob, poll, text="多装路灯")).status_code == 201

    staff = (await client.get(url(poll, "/results"), headers=town.staff)).json()
    question = text_question(staff)
    assert staff["respondent_count"] == 2 and question["answered"] == 2
    assert question["texts"] == ["多装路灯"]
    [held] = question["held_texts"]
    assert held["text"] == f"{WORD}找我" and held["is_held"]
    texts = csv_rows(await client.get(url(poll, "/results.csv"), params={"view": "texts"},
                                      headers=town.staff))
    assert [r[2] for r in texts[1:]] == ["多装路灯"]
    responses = csv_rows(await client.get(url(poll, "/results.csv"),
                                          params={"view": "responses"}, headers=town.staff))
    assert sorted(r[-1] for r in responses[1:]) == ["多装路灯", "（待审核）"]

    # Nobody but the area's staff may release it.
    release = url(poll, f"/texts/{held['id']}/release")
    assert (await client.post(release, headers=alice)).status_code == 403
    assert (await client.post(release, headers=town.other_staff)).status_code == 404
    missing = await client.post(url(poll, "/texts/not-an-id/release"), headers=town.staff)
    assert missing.status_code == 404 and error_code(missing) == "answer_not_found"

    released = await client.post(release, headers=town.staff)
    assert released.status_code == 200 and not released.json()["is_held"]
    question = text_question((await client.get(url(poll, "/results"),
                                               headers=town.staff)).json())
    assert sorted(question["texts"]) == sorted(["多装路灯", f"{WORD}找我"])
    assert question["held_texts"] == []


async def test_voters_never_see_a_held_text(client, town):
    base_settings(content_blocklist=WORD)
    poll = await create_poll(client, town.staff, results_visibility="after_vote")
    alice = await neighbour(client, "alice")
    assert (await vote(client, alice, poll, text=f"{WORD}找我")).status_code == 201
    seen = await client.get(url(poll, "/results"), headers=alice)
    assert seen.status_code == 200
    assert WORD not in seen.text
    assert text_question(seen.json())["answered"] == 1
