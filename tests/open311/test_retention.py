"""A caller's contact details are erased OPEN311_CONTACT_RETENTION_DAYS after the case ended."""

from datetime import UTC, datetime, timedelta

from app.open311.jobs import erase_old_contacts
from app.tickets.models import Ticket
from tests.open311.helpers import client_app, post_report

CONTACT = {"email": "caller@example.cn", "phone": "13900139000", "first_name": "晓芸"}


async def post(client, path, headers, **body):
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text


async def test_contact_details_go_half_a_year_after_closing_and_not_before(client, city):
    app = await client_app(client)
    _, ended = await post_report(client, app.api_key, **CONTACT)
    _, running = await post_report(client, app.api_key, **CONTACT)
    await post(client, f"/api/v1/tasks/{ended}/claim", city.worker)
    await post(client, f"/api/v1/tasks/{ended}/handle", city.worker, note="已清理")
    await post(client, f"/api/v1/tickets/{ended}/verify", city.worker2, passed=True)
    long_ago = datetime.now(UTC) - timedelta(days=181)
    await Ticket.filter(id__in=[ended, running]).update(updated_at=long_ago)

    assert await erase_old_contacts(now=datetime.now(UTC) - timedelta(days=2)) == 0
    assert await erase_old_contacts() == 1
    assert await erase_old_contacts() == 0  # nothing left to erase: a round is idempotent

    async def contact(tid):
        response = await client.get(f"/api/v1/open311/tickets/{tid}/contact",
                                    headers=city.dispatcher)
        assert response.status_code == 200
        return response.json()

    gone = await contact(ended)
    assert (gone["email"], gone["phone"], gone["first_name"]) == ("", "", "")
    assert gone["client_name"] == "随手拍 App"  # the link to the app stays
    kept = await contact(running)  # still open: its caller may need a call back
    assert kept["phone"] == "13900139000"
