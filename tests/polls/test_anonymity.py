"""An anonymous poll never tells anyone — staff included — who answered what.

The voter gets a distinctive id, openid and nickname; then every poll endpoint's JSON and every
CSV view, as every kind of caller, is scanned for them.
"""

from app.accounts.models import User
from app.polls.models import PollAnswer
from tests.polls.helpers import GRID_1, GRID_2, close, create_poll, neighbour, vote

VOTER_ID = 2_000_000_123
OPENID = "voter-q7x3"
NICKNAME = "欧阳投票人"
SECRETS = (str(VOTER_ID), OPENID, NICKNAME)
IDENTITY_KEYS = ("user", "ballot", "voter", "openid", "display", "nickname")


def keys_of(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys_of(item)


async def test_no_poll_endpoint_reveals_who_answered_an_anonymous_poll(client, town):
    poll = await create_poll(client, town.staff, is_anonymous=True)
    pid = poll["id"]
    await User.create(id=VOTER_ID, openid=f"dev-{OPENID}", display_name=NICKNAME)
    voter = await neighbour(client, OPENID, home=GRID_1, name=NICKNAME)
    seen = [await vote(client, voter, poll, single="no", text="我家楼下太暗")]
    for i, home in enumerate([GRID_1] * 5 + [GRID_2] * 5):
        await vote(client, await neighbour(client, f"n{i}", home=home), poll)

    staff = (town.staff, town.street_staff, town.admin)
    for headers in (*staff, voter):
        seen += [await client.get("/api/v1/polls", headers=headers),
                 await client.get(f"/api/v1/polls/{pid}", headers=headers),
                 await client.get(f"/api/v1/polls/{pid}/results", headers=headers)]
    for headers in staff:
        for by in ("street", "community", "grid"):
            seen.append(await client.get(f"/api/v1/polls/{pid}/results", params={"by": by},
                                         headers=headers))
            seen.append(await client.get(f"/api/v1/polls/{pid}/results.csv",
                                         params={"by": by}, headers=headers))
        seen.append(await client.get(f"/api/v1/polls/{pid}/results.csv",
                                     params={"view": "texts"}, headers=headers))
    seen.append(await close(client, town.staff, poll))
    seen.append(await client.get(f"/api/v1/polls/{pid}/results", headers=voter))
    seen.append(await client.get("/api/v1/polls", params={"status": "all"}, headers=voter))

    assert all(r.status_code in (200, 201) for r in seen), [r.text for r in seen
                                                            if r.status_code >= 300]
    # The scan reads real content: the voter's own words are there, detached from them.
    assert any("我家楼下太暗" in r.text for r in seen)
    for response in seen:
        for secret in SECRETS:
            assert secret not in response.text, (str(response.url), secret)
        if response.headers["content-type"].startswith("application/json"):
            names = [k.lower() for k in keys_of(response.json())]
            assert not [k for k in names if any(word in k for word in IDENTITY_KEYS)], names

    stored = await PollAnswer.filter(poll_id=pid).values()
    assert stored and all(row["ballot_id"] is None for row in stored)
    assert not {"user_id", "created_at", "updated_at"} & set(stored[0])


async def test_the_scan_would_catch_a_named_poll_showing_its_voter(client, town):
    poll = await create_poll(client, town.staff, is_anonymous=False)
    await User.create(id=VOTER_ID, openid=f"dev-{OPENID}", display_name=NICKNAME)
    voter = await neighbour(client, OPENID, name=NICKNAME)
    await vote(client, voter, poll)
    named = await client.get(f"/api/v1/polls/{poll['id']}/results.csv",
                             params={"view": "responses"}, headers=town.staff)
    assert NICKNAME in named.text and str(VOTER_ID) in named.text
    stored = await PollAnswer.filter(poll_id=poll["id"]).values_list("ballot_id", flat=True)
    assert None not in stored
