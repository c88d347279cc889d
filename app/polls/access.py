"""Who a poll's caller is: staff covering its area, an eligible resident, a past voter.

Every read and write of a poll starts here: `get_visible_or_raise` answers 404 to whoever may
not see the poll at all, `staff_poll_or_raise` 403 to a resident who may see but not manage it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts.models import User
from app.accounts.scope import Role, Scope, scope_of
from app.core.errors import Conflict, Forbidden, NotFound
from app.polls.models import Poll, PollBallot
from app.polls.rules import lives_in

STAFF_ROLES = (Role.COMMUNITY_STAFF, Role.ADMIN)


def not_found() -> NotFound:
    return NotFound("找不到该投票", code="poll_not_found")


def home_area_required() -> Conflict:
    return Conflict("请先在“我的”里选择您居住的社区，再参与社区投票", code="home_area_required")


@dataclass(frozen=True)
class Viewer:
    """What the caller is to one poll."""

    is_staff: bool  # community staff / admin whose scope covers the poll's area
    is_resident: bool
    is_eligible: bool  # a resident whose home area lies inside the poll's area
    has_voted: bool


def home_path(user: User) -> str | None:
    """The caller's home area path (the user loader fetches the area with the user)."""
    area = user.home_area if user.home_area_id is not None else None
    return area.path if area is not None else None


async def get_or_raise(poll_id: int) -> Poll:
    poll = await Poll.get_or_none(id=poll_id)
    if poll is None:
        raise not_found()
    return poll


async def has_ballot(poll_id: int, user_id: int) -> bool:
    return await PollBallot.filter(poll_id=poll_id, user_id=user_id).exists()


async def viewer_of(user: User, poll: Poll, scope: Scope | None = None) -> Viewer:
    scope = scope or scope_of(user)
    is_resident = scope.has(Role.RESIDENT)
    return Viewer(
        is_staff=scope.covers(poll.area_path, *STAFF_ROLES),
        is_resident=is_resident,
        is_eligible=is_resident and lives_in(home_path(user), poll.area_path),
        has_voted=is_resident and await has_ballot(poll.id, user.id),
    )


async def get_visible_or_raise(*, user: User, poll_id: int) -> tuple[Poll, Viewer]:
    """The poll and what the caller is to it; 404 when they may not see it at all."""
    poll = await get_or_raise(poll_id)
    viewer = await viewer_of(user, poll)
    if poll.is_draft and not viewer.is_staff:  # a draft is its staff's only
        raise not_found()
    # A voter who has since moved away still sees the poll they answered.
    if viewer.is_staff or viewer.is_eligible or viewer.has_voted:
        return poll, viewer
    if viewer.is_resident and user.home_area_id is None:
        raise home_area_required()
    raise not_found()


async def staff_poll_or_raise(*, user: User, poll_id: int) -> Poll:
    """The poll, for staff whose scope covers its area; 403 for others who may see it, 404 for
    the rest. Who may act comes first: a resident without a home community is not asked to
    pick one (409 home_area_required) before hearing that closing a poll is not theirs."""
    poll = await get_or_raise(poll_id)
    viewer = await viewer_of(user, poll)
    if viewer.is_staff:
        return poll
    if (viewer.is_eligible or viewer.has_voted) and not poll.is_draft:
        raise Forbidden("只有负责该区域的社区工作人员可以操作", code="staff_only")
    raise not_found()
