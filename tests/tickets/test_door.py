"""The one door: the table's required inputs, the change listeners, and who writes a status."""

import ast
from pathlib import Path

import pytest

from tests.factories import error_code
from tests.tickets.helpers import report

APP = Path(__file__).resolve().parents[2] / "app"


async def post(client, path, headers, **body):
    return await client.post(path, json=body, headers=headers)


async def test_a_blank_reason_is_refused_by_the_door_and_nothing_changes(client, city):
    tid = (await report(client, city.resident, "9902"))["id"]  # waits to be accepted
    blank = await post(client, f"/api/v1/tickets/{tid}/reject", city.dispatcher, reason="  ")
    assert blank.status_code == 422 and error_code(blank) == "reason_required"
    seen = (await client.get(f"/api/v1/tickets/{tid}", headers=city.dispatcher)).json()
    assert seen["status"] == "submitted" and seen["version"] == 1


async def test_handling_without_a_note_is_refused_by_the_door(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]  # dispatched to the department
    await post(client, f"/api/v1/tasks/{tid}/claim", city.handler)
    blank = await post(client, f"/api/v1/tasks/{tid}/handle", city.handler, note="")
    assert blank.status_code == 422 and error_code(blank) == "note_required"
    seen = (await client.get(f"/api/v1/tickets/{tid}", headers=city.handler)).json()
    assert seen["status"] == "claimed"


async def test_a_failed_verification_needs_a_reason_whatever_the_status(client, city):
    tid = (await report(client, city.resident, "9901"))["id"]  # dispatched, not verifying
    refused = await post(client, f"/api/v1/tickets/{tid}/verify", city.worker, passed=False)
    assert refused.status_code == 422 and error_code(refused) == "reason_required"


async def test_a_merge_without_its_original_is_refused_by_the_door(client, city):
    from app.accounts import service as accounts
    from app.accounts.models import User
    from app.core.errors import Invalid
    from app.tickets import door

    tid = (await report(client, city.resident, "9902"))["id"]
    found = await User.get(username__startswith="dispatcher")
    dispatcher = await accounts.get_active_user(user_id=found.id)
    with pytest.raises(Invalid) as refused:
        await door.transition(ticket_id=tid, action="merge", actor=dispatcher)
    assert refused.value.code == "duplicate_required"


async def test_the_door_tells_the_statistics_of_every_change(client, city):
    from app.stats import service as stats
    from app.stats.models import StatsDelta
    from app.tickets import door
    from app.wiring import wire

    wire()
    wire()  # idempotent: still one listener
    assert door._listeners.count(stats.record) == 1
    tid = (await report(client, city.resident, "9902"))["id"]
    opened = await StatsDelta.all().count()
    assert opened > 0  # the new ticket's counts
    await post(client, f"/api/v1/tickets/{tid}/accept", city.dispatcher)
    assert await StatsDelta.all().count() > opened  # and the acceptance's


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_tickets_do_not_import_the_statistics():
    for path in (APP / "tickets").glob("*.py"):
        assert not any(n.startswith("app.stats") for n in _imports(path)), path


def test_only_the_door_writes_a_ticket_status():
    """No `status=` in a Ticket create/update/save outside door.py (queries filter on it)."""
    for path in APP.rglob("*.py"):
        if path == APP / "tickets" / "door.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("update", "create", "update_or_create",
                                           "get_or_create", "bulk_update")
                    and "Ticket" in ast.unparse(node.func.value)
                    and any(k.arg == "status" for k in node.keywords)):
                raise AssertionError(f"{path}: {ast.unparse(node)}")
            if (isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Attribute) and t.attr == "status"
                    and "ticket" in ast.unparse(t.value).lower() for t in node.targets)):
                raise AssertionError(f"{path}: {ast.unparse(node)}")
