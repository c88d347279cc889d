"""The one entry point that writes outbox rows, and the registry of what each kind says."""

import ast
from pathlib import Path

import pytest

from app import jobs
from app.accounts.models import User
from app.notifications import outbox
from app.notifications.models import Outbox
from app.notifications.outbox import NoticeKind, enqueue, notice
from app.polls import notices as poll_notices
from app.tickets import notices as ticket_notices

NOTIFICATIONS = Path(__file__).resolve().parents[2] / "app" / "notifications"
# notifications knows users (accounts) and the framework (core): every other domain hands it
# what it needs through the composition root (app/jobs.py).
ALLOWED = ("app.accounts", "app.core", "app.notifications", "app.settings")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_notifications_imports_no_other_domain_not_even_inside_functions():
    offending = {f"{path.name}: {module}" for path in NOTIFICATIONS.glob("*.py")
                 for module in _imports(path)
                 if module.startswith("app") and not module.startswith(ALLOWED)}
    assert not offending


def test_every_domain_kind_is_registered_once_and_a_conflicting_one_is_refused():
    assert {k.name for k in jobs.KINDS if not k.name.endswith(".*")} <= set(outbox.KINDS)
    assert outbox.kind_named("ticket.dispatch") is ticket_notices.DISPATCH
    outbox.register(ticket_notices.DISPATCH)  # again: no-op
    with pytest.raises(ValueError):
        outbox.register(NoticeKind("ticket.dispatch", "别的标题", "别的内容"))
    with pytest.raises(LookupError):
        outbox.kind_named("ticket.not_a_kind")
    assert outbox.kind_for("ticket.not_a_kind") is ticket_notices.FALLBACK
    assert outbox.kind_for("nobody.knows") is outbox.UNKNOWN


def test_the_door_has_a_kind_for_every_notifying_action():
    assert set(ticket_notices.NOTICE_FOR_ACTION) == ticket_notices.NOTIFY_REPORTER
    for action, kind in ticket_notices.NOTICE_FOR_ACTION.items():
        assert kind.name == f"ticket.{action}" and kind.template == ticket_notices.PROGRESS


def test_only_a_broadcast_kind_is_written_without_a_recipient():
    with pytest.raises(ValueError):
        notice(ticket_notices.DISPATCH, recipient_id=None, payload={})
    row = notice(poll_notices.OPENED, recipient_id=None, payload={"poll_id": 1})
    assert row.kind == "poll.opened" and row.recipient_id is None and row.available_at
    assert outbox.broadcast_for("poll.opened") is not None
    assert outbox.broadcast_for("ticket.dispatch") is None


async def test_enqueue_writes_rows_and_once_skips_keys_already_present(client, city):
    user = (await User.all().order_by("id").first()).id

    def keyed(i: int) -> Outbox:
        return notice(ticket_notices.DEADLINE_NEAR, recipient_id=user, payload={"number": "1"},
                      dedupe_key=f"test:{i}")

    assert await enqueue([keyed(0), keyed(1)], once=True) == 2
    assert await enqueue([keyed(0), keyed(1), keyed(2)], once=True) == 1  # only test:2 is new
    assert await Outbox.filter(dedupe_key__startswith="test:").count() == 3
    with pytest.raises(ValueError):  # "once" needs a key on every row
        await enqueue([notice(ticket_notices.DISPATCH, recipient_id=user, payload={})],
                      once=True)
    assert await enqueue([notice(ticket_notices.DISPATCH, recipient_id=user, payload={}),
                          notice(ticket_notices.CLOSE, recipient_id=user, payload={})]) == 2
    assert await enqueue([]) == 0


def test_the_job_process_collects_every_domains_jobs():
    names = [job.name for job in jobs.PERIODIC]
    assert len(names) == len(set(names))
    assert {name.partition(".")[0] for name in names} == {"tickets", "ratings", "polls", "stats",
                                                          "accounts", "notifications",
                                                          "supervision", "integrations", "media",
                                                          "open311", "devices"}
