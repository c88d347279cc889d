"""Small helpers shared by the notifications tests."""

from __future__ import annotations

from datetime import UTC, datetime

from app.notifications.delivery import DeliveryConfig, deliver_batch
from app.notifications.models import Outbox


async def unread(client, headers) -> int:
    response = await client.get("/api/v1/messages/unread-count", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["unread"]


async def messages(client, headers, **params) -> dict:
    response = await client.get("/api/v1/messages", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def consent(client, headers, *accepted: str, asked: tuple[str, ...] = ()) -> dict:
    response = await client.post("/api/v1/messages/subscriptions", headers=headers, json={
        "template_ids": list(dict.fromkeys([*asked, *accepted])), "accepted": list(accepted)})
    assert response.status_code == 200, response.text
    return {q["template_id"]: q["remaining"] for q in response.json()["items"]}


async def remaining(client, headers) -> dict[str, int]:
    response = await client.get("/api/v1/messages/subscriptions", headers=headers)
    assert response.status_code == 200, response.text
    return {q["template_id"]: q["remaining"] for q in response.json()["items"]}


async def deliver_all(*, config: DeliveryConfig | None = None, now: datetime | None = None,
                      worker_id: str = "test-worker") -> int:
    """Deliver until nothing is due at `now`."""
    total = 0
    while claimed := await deliver_batch(worker_id=worker_id, limit=50, now=now, config=config):
        total += claimed
    return total


async def outbox_rows(**filters) -> list[Outbox]:
    return await Outbox.filter(**filters).order_by("id")


def utcnow() -> datetime:
    return datetime.now(UTC)
