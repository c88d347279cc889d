"""The ticket detail tells the reporter what they may do themselves (app/tickets/queries.py):
撤回 while nobody has accepted the report, 补充信息 while it is open, nothing once it is over.
The mini-program shows those buttons from `allowed_actions` alone."""

from tests.tickets.helpers import report


async def actions(client, headers, ticket_id):
    response = await client.get(f"/api/v1/tickets/{ticket_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["allowed_actions"]


async def test_the_reporter_is_offered_withdraw_and_add_info_while_the_door_takes_them(client,
                                                                                       city):
    waiting = await report(client, city.resident, "9902")  # waits for a dispatcher
    assert await actions(client, city.resident, waiting["id"]) == ["withdraw", "add_info"]
    accepted = await report(client, city.resident, "9904")  # auto-accepted and dispatched
    assert await actions(client, city.resident, accepted["id"]) == ["add_info"]
    # Staff on the same ticket are not offered the reporter's moves.
    assert "withdraw" not in await actions(client, city.dispatcher, waiting["id"])

    withdrawn = await client.post(f"/api/v1/tickets/{waiting['id']}/withdraw",
                                  json={"reason": "已自行解决"}, headers=city.resident)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["allowed_actions"] == []  # rejected: nothing more to add
