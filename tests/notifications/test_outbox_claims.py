"""Several job processes at once: every row is claimed by exactly one, none is lost.

On MariaDB the claims run on separate pooled connections with SELECT … FOR UPDATE SKIP LOCKED
(real races); on SQLite Tortoise drops the clause and serialises transactions, and the same
assertions must hold (the lease check decides there).
"""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from app.accounts.models import User
from app.notifications.delivery import (
    DeliveryConfig,
    LeaseLost,
    claim,
    deliver_batch,
    deliver_one,
    due_for_update,
)
from app.notifications.models import Message, Outbox, OutboxStatus, PushState, SubscriptionQuota
from tests.notifications.conftest import CONFIG, PROGRESS
from tests.notifications.helpers import messages, unread, utcnow
from tests.support import MYSQL_DB

ROWS = 60


async def pending_rows(user: User, n: int = ROWS) -> None:
    now = utcnow()
    await Outbox.bulk_create([
        Outbox(kind="ticket.dispatch", recipient_id=user.id, available_at=now,
               payload={"number": f"N{i:05d}", "action": "dispatch", "status": "dispatched"})
        for i in range(n)])


async def test_concurrent_workers_deliver_every_row_exactly_once(client, city, wechat):
    alice = await User.get(openid="dev-alice")
    await SubscriptionQuota.create(user=alice, template_id=PROGRESS, remaining=ROWS)
    await pending_rows(alice)
    claimed: Counter[str] = Counter()

    async def worker(name: str) -> None:
        while n := await deliver_batch(worker_id=name, limit=7, config=CONFIG):
            claimed[name] += n

    await asyncio.gather(*(worker(f"w{i}") for i in range(4)))

    assert sum(claimed.values()) == ROWS  # no row claimed twice, none left behind
    assert len(claimed) >= 2, claimed  # the work really was shared
    assert await Outbox.filter(status=OutboxStatus.SENT, push_state=PushState.SENT).count() == ROWS
    numbers = [body["data"]["character_string1"]["value"] for body in wechat.sent]
    assert len(numbers) == ROWS and len(set(numbers)) == ROWS  # each sent once
    assert await Message.all().count() == ROWS
    assert await unread(client, city.resident) == ROWS
    assert (await SubscriptionQuota.get(user=alice)).remaining == 0
    assert len((await messages(client, city.resident, limit=100))["items"]) == ROWS


async def test_concurrent_claims_never_share_a_row(client, city):
    alice = await User.get(openid="dev-alice")
    await pending_rows(alice)
    now = utcnow()
    batches = await asyncio.gather(*(claim(worker_id=f"w{i}", limit=9, now=now, lease_s=60)
                                     for i in range(10)))
    ids = [row.id for batch in batches for row in batch]
    assert len(ids) == len(set(ids)) == ROWS
    assert all(row.attempts == 1 and row.locked_until == now + timedelta(seconds=60)
               for batch in batches for row in batch)
    # Leased rows are nobody else's until the lease runs out …
    assert await claim(worker_id="late", limit=100, now=now + timedelta(seconds=59),
                       lease_s=60) == []
    # … then a worker that died with them is replaced.
    again = await claim(worker_id="late", limit=100, now=now + timedelta(seconds=61), lease_s=60)
    assert len(again) == ROWS and all(row.attempts == 2 for row in again)


# SQLite has no row locks (Tortoise drops FOR UPDATE there) and locks the whole file for a
# writer, so there is no SKIP LOCKED to observe: a SQLite deployment runs one job process
# (docs/notifications.md). The tests above hold on SQLite too; .ci/run's MariaDB stage runs
# this one on every submission.
@pytest.mark.skipif(not MYSQL_DB, reason="SKIP LOCKED needs MySQL/MariaDB row locks; "
                    ".ci/run's MariaDB stage runs it")
async def test_skip_locked_passes_over_rows_another_claim_holds(client, city):
    alice = await User.get(openid="dev-alice")
    await pending_rows(alice, 10)
    first_five: list[int] = []
    holding, release = asyncio.Event(), asyncio.Event()

    async def slow_claimer() -> None:  # its own task, so its own transaction and connection
        async with in_transaction("default"):  # the claim's locking read, held open
            first_five.extend(r.id for r in await due_for_update(now=utcnow(), limit=5))
            holding.set()
            await release.wait()

    task = asyncio.create_task(slow_claimer())
    await holding.wait()
    try:
        # Not blocked by the held rows: SKIP LOCKED takes the others at once.
        rows = await asyncio.wait_for(claim(worker_id="w2", limit=10, now=utcnow(), lease_s=60),
                                      timeout=5)
    finally:
        release.set()
        await task
    assert len(first_five) == 5
    assert sorted(r.id for r in rows) == sorted(set(r.id for r in await Outbox.all()) -
                                                set(first_five))


async def test_a_worker_that_lost_its_lease_records_nothing(client, city, wechat):
    alice = await User.get(openid="dev-alice")
    await SubscriptionQuota.create(user=alice, template_id=PROGRESS, remaining=5)
    await pending_rows(alice, 1)
    now = utcnow()
    [stale] = await claim(worker_id="slow", limit=1, now=now, lease_s=60)
    # The slow worker stalls past its lease; another takes the row over and delivers it.
    assert await deliver_batch(worker_id="fast", limit=10, now=now + timedelta(seconds=61),
                               config=CONFIG) == 1
    with pytest.raises(LeaseLost):
        await deliver_one(stale, now=now + timedelta(seconds=62), config=CONFIG)
    row = await Outbox.get(id=stale.id)
    assert row.status == OutboxStatus.SENT and row.attempts == 2
    assert len(wechat.sent) == 1  # the stale worker sent nothing …
    assert (await SubscriptionQuota.get(user=alice)).remaining == 4  # … and took no consent
    assert await Message.all().count() == 1


async def test_a_poison_row_is_parked_without_holding_up_the_others(client, city, wechat):
    alice = await User.get(openid="dev-alice")
    await SubscriptionQuota.create(user=alice, template_id=PROGRESS, remaining=10)
    await pending_rows(alice, 3)

    def send(body: dict) -> dict:
        if body["data"]["character_string1"]["value"] == "N00001":
            raise ValueError("a bug that hits this row every time")
        from app.notifications.delivery import wechat_send

        return wechat_send(body)

    config = DeliveryConfig(templates=CONFIG.templates, wechat_enabled=True, sender=send)
    now = utcnow()
    for _ in range(config.max_attempts):
        await deliver_batch(worker_id="w", limit=10, now=now, config=config)
        now += timedelta(hours=2)
    statuses = {r.payload["number"]: (r.status, r.attempts) for r in await Outbox.all()}
    assert statuses == {"N00000": (OutboxStatus.SENT, 1), "N00001": (OutboxStatus.PARKED, 8),
                        "N00002": (OutboxStatus.SENT, 1)}
    parked = await Outbox.get(status=OutboxStatus.PARKED)
    assert parked.last_error.startswith("ValueError: a bug")
    assert len(wechat.sent) == 2 and await unread(client, city.resident) == 3
