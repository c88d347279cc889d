"""Talking to the reporter: staff post public progress notes (进展说明) and ask the reporter for
more information (请求补充信息); the reporter answers with 补充信息 (`POST /tickets/{id}/info`),
which, where the district pauses the clock for it (PAUSE_CLOCK_FOR_INFO), moves the deadline
on by the time the case waited for the answer (app/tickets/actions.add_info).

Both are rows of the workflow table that keep the status, written through the ticket door, so
the timeline, the version and the notices come with them. Reply templates (常用语) per
category subtree and status give staff a text to start from.
"""

from __future__ import annotations

from typing import Any

from app.accounts.models import Role, User
from app.accounts.scope import scope_of
from app.catalog import service as catalog
from app.conversation import notices
from app.conversation.models import ReplyTemplate, TemplatePurpose
from app.conversation.schemas import (
    ReplyTemplateIn,
    ReplyTemplateList,
    ReplyTemplateOut,
    ReplyTemplatePatch,
    ReplyTemplateQuery,
)
from app.core.errors import Forbidden, NotFound
from app.tickets.access import (
    FOLLOWER,
    OFFICE_ROLES,
    get_visible_or_raise,
    require_on_duty,
    ticket_roles,
)
from app.tickets.door import Change, transition
from app.tickets.models import Ticket

# Who keeps the templates.
TEMPLATE_EDITORS = (Role.ADMIN, Role.DISPATCHER)


async def _check_speaker(actor: User, ticket: Ticket) -> None:
    """A grid worker or handler speaks for a case only while its task is theirs."""
    if not ticket_roles(actor, ticket) & OFFICE_ROLES:
        await require_on_duty(actor, ticket)


async def post_note(*, actor: User, ticket_id: int, note: str, version: int | None) -> Ticket:
    """进展说明: a note the reporter and the followers read on the timeline (and are told of)."""
    async def effect(ticket: Ticket, change: Change) -> None:
        await _check_speaker(actor, ticket)

    return await transition(ticket_id=ticket_id, action="progress_note", actor=actor,
                            note=note.strip(), expected_version=version, effect=effect)


async def ask_info(*, actor: User, ticket_id: int, note: str, version: int | None) -> Ticket:
    """请求补充信息: the reporter is asked (and told); they answer with 补充信息."""
    async def effect(ticket: Ticket, change: Change) -> None:
        await _check_speaker(actor, ticket)
        if ticket.reporter_id is None:  # a hotline, camera or patrol case has nobody to ask
            raise Forbidden("该案件没有可联系的上报人", code="no_reporter")
        change.notify.append((notices.INFO_REQUESTED, ticket.reporter_id))

    return await transition(ticket_id=ticket_id, action="ask_info", actor=actor,
                            note=note.strip(), expected_version=version, effect=effect)


# --- reply templates ----------------------------------------------------------------------------


def _out(row: ReplyTemplate) -> ReplyTemplateOut:
    return ReplyTemplateOut(id=row.id, purpose=row.purpose, category_path=row.category_path,
                            status=row.status, text=row.text, is_active=row.is_active,
                            created_at=row.created_at)


def _require_editor(actor: User) -> None:
    if not scope_of(actor).has(*TEMPLATE_EDITORS):
        raise Forbidden("只有管理员和派遣员可以维护常用语", code="not_allowed")


async def templates(*, viewer: User, query: ReplyTemplateQuery) -> ReplyTemplateList:
    """Staff's templates: all (editors), or those fitting one ticket, most specific first."""
    if not scope_of(viewer).roles - {Role.RESIDENT}:
        raise Forbidden("常用语仅工作人员可用", code="staff_only")
    qs = ReplyTemplate.all()
    if query.purpose is not None:
        qs = qs.filter(purpose=query.purpose)
    if query.ticket_id is None:
        return ReplyTemplateList(items=[_out(r) for r in await qs.order_by("id").limit(500)])
    ticket, roles = await get_visible_or_raise(user=viewer, ticket_id=query.ticket_id)
    if not roles - {Role.RESIDENT, FOLLOWER}:
        raise Forbidden("常用语仅工作人员可用", code="staff_only")
    category = (await catalog.categories_by_id())[ticket.category_id]
    rows = [r for r in await qs.filter(is_active=True, status__in=["", ticket.status])
            if category.path.startswith(r.category_path)]

    def specificity(row: ReplyTemplate) -> tuple[int, int, int]:
        return (-len(row.category_path), -len(row.status), row.id)

    return ReplyTemplateList(items=[_out(r) for r in sorted(rows, key=specificity)])


async def create_template(*, actor: User, body: ReplyTemplateIn) -> ReplyTemplateOut:
    _require_editor(actor)
    path = ""
    if body.category_code:
        path = (await catalog.get_category_or_raise(code=body.category_code)).path
    row = await ReplyTemplate.create(purpose=body.purpose, category_path=path,
                                     status=body.status.value if body.status else "",
                                     text=body.text.strip())
    return _out(row)


async def update_template(*, actor: User, template_id: int,
                          body: ReplyTemplatePatch) -> ReplyTemplateOut:
    _require_editor(actor)
    fields: dict[str, Any] = body.model_dump(exclude_none=True)
    if "text" in fields:
        fields["text"] = fields["text"].strip()
    if fields and not await ReplyTemplate.filter(id=template_id).update(**fields):
        raise NotFound("找不到该常用语", code="template_not_found")
    row = await ReplyTemplate.get_or_none(id=template_id)
    if row is None:
        raise NotFound("找不到该常用语", code="template_not_found")
    return _out(row)


__all__ = ["TemplatePurpose", "ask_info", "create_template", "post_note", "templates",
           "update_template"]
