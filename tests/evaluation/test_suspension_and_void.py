"""考核 and the requests of issue 15: a unit's 挂账 is counted (挂账数, 挂账率); a voided case is
no case of the unit's, like a merged duplicate (docs/metrics.md)."""

from __future__ import annotations

from tests.approvals.helpers import ask, claimed, decide, ok, supervisor
from tests.tickets.helpers import report


async def test_a_units_suspension_is_counted_and_a_void_leaves_its_cases(client, city):
    boss = await supervisor()
    suspended, voided, plain = [(await report(client, city.resident, "9901"))["id"]
                                for _ in range(3)]  # each routed to the department
    await claimed(client, city, suspended)
    asked = await ok(await ask(client, suspended, city.handler, "suspend"), 201)
    await ok(await decide(client, asked["id"], boss))
    asked = await ok(await ask(client, voided, city.dispatcher, "void", reason="重复立案"), 201)
    await ok(await decide(client, asked["id"], boss))
    table = await ok(await client.get("/api/v1/evaluation/units", headers=city.dispatcher))
    [row] = [r for r in table["rows"] if r["key"] == str(city.department.id)]
    assert row["counts"]["should_handle"] == 2 and row["counts"]["should_close"] == 2
    assert row["counts"]["suspended"] == 1
    assert row["rates"]["suspension_rate"]["display"] == "50.00%"
    assert row["rates"]["suspension_rate"]["label"] == "挂账率"
    exported = await client.get("/api/v1/evaluation/units.csv", headers=city.dispatcher)
    assert exported.status_code == 200
    header = exported.text.lstrip("\ufeff").splitlines()[0].split(",")
    assert "挂账数" in header and "挂账率" in header
    assert plain not in (suspended, voided)
