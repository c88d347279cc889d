"""The job loop and its periodic jobs, each guarded by a named lock (Redis when configured)."""

import asyncio
from datetime import UTC, datetime, timedelta

from app import jobs
from app.accounts.models import User
from app.core import locks
from app.notifications.models import Outbox, OutboxStatus
from app.tickets.models import Ticket
from tests.notifications.helpers import unread, utcnow
from tests.tickets.helpers import report


async def test_a_lock_has_one_holder_until_released_or_expired(client):
    first = await locks.locks.acquire("t:one", ttl_s=30, owner="a")
    assert first is not None
    assert await locks.locks.acquire("t:one", ttl_s=30, owner="b") is None
    assert not await locks.locks.release("t:one", "not-the-token")  # only the holder releases
    assert await locks.locks.release("t:one", first)
    assert await locks.locks.acquire("t:one", ttl_s=0.05, owner="b") is not None
    await asyncio.sleep(0.1)
    assert await locks.locks.acquire("t:one", ttl_s=30, owner="c") is not None  # expired


async def test_hold_runs_the_body_in_one_place_at_a_time(client):
    inside, peak = 0, 0

    async def contender() -> bool:
        nonlocal inside, peak
        async with locks.hold("t:two", ttl_s=10) as acquired:
            if not acquired:
                return False
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.05)
            inside -= 1
            return True

    results = await asyncio.gather(*(contender() for _ in range(10)))
    assert results.count(True) == 1 and peak == 1
    assert await contender()  # released afterwards


async def test_a_periodic_job_runs_once_per_interval_across_workers(client):
    runs = []

    async def work() -> int:
        runs.append(1)
        await asyncio.sleep(0.05)
        return 1

    job = jobs.PeriodicJob("test.count", 30.0, work)
    ran = await asyncio.gather(*(jobs.run_periodic(job, worker_id=f"w{i}") for i in range(5)))
    assert ran.count(True) == 1 and len(runs) == 1
    assert not await jobs.run_periodic(job, worker_id="w9")  # still within its interval


async def test_mark_overdue_is_registered_every_minute():
    [job] = [j for j in jobs.PERIODIC if j.name == "tickets.mark_overdue"]
    assert job.interval_s == 60


async def test_the_job_loop_delivers_and_runs_periodic_jobs_until_stopped(client, city):
    ticket = await report(client, city.resident, "9901")  # dispatched, with a deadline
    await Ticket.filter(id=ticket["id"]).update(deadline_at=datetime.now(UTC) - timedelta(hours=1))
    failures = []

    async def flaky() -> None:
        failures.append(1)
        raise RuntimeError("a failing job must not stop the loop")

    periodic = (*jobs.PERIODIC, jobs.PeriodicJob("test.flaky", 60.0, flaky))
    stop = asyncio.Event()
    loop = asyncio.create_task(jobs.run_jobs(stop=stop, worker_id="loop", periodic=periodic,
                                             idle_s=0.05))
    try:
        for _ in range(200):
            if not await Outbox.filter(status=OutboxStatus.PENDING).exists():
                break
            await asyncio.sleep(0.05)
        assert await unread(client, city.resident) == 2
        assert (await Ticket.get(id=ticket["id"])).is_overdue  # mark_overdue ran
        assert failures == [1]
        # New rows are picked up while the loop runs.
        alice = await User.get(openid="dev-alice")
        await Outbox.create(kind="ticket.close", recipient_id=alice.id, available_at=utcnow(),
                            payload={"number": ticket["number"], "status": "closed"})
        for _ in range(200):
            if await unread(client, city.resident) == 3:
                break
            await asyncio.sleep(0.05)
        assert await unread(client, city.resident) == 3
    finally:
        stop.set()
        await asyncio.wait_for(loop, 10)
    assert loop.done() and loop.exception() is None


async def test_the_notice_jobs_are_registered_with_their_intervals():
    intervals = {j.name: j.interval_s for j in jobs.PERIODIC}
    assert intervals.items() >= {("tickets.remind_deadlines", 60),
                                 ("ratings.remind_to_rate", 300),
                                 ("polls.announce_closed", 60)}
