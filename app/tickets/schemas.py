"""Request and response models of the tickets domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.accounts.schemas import AreaRef
from app.core.api import Input
from app.core.paging import PageQuery
from app.media.schemas import MediaOut
from app.tickets.workflow import Status

Crs = Literal["wgs84", "gcj02"]
MAX_PHOTOS = 6


class Location(Input):
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    crs: Crs = Field(description="gcj02 from WeChat maps / chooseLocation, wgs84 from GPS")
    accuracy: float | None = Field(default=None, ge=0, le=100_000, allow_inf_nan=False,
                                   description="Horizontal accuracy in metres, as wx.getLocation "
                                   "reports it")


class ReportCreate(Input):
    category_code: str = Field(min_length=1, max_length=32)
    description: str = Field(min_length=1, max_length=1000)
    location: Location
    address: str = Field(default="", max_length=255)
    media_ids: list[int] = Field(default_factory=list, max_length=MAX_PHOTOS)
    is_public: bool = True
    urgency: Literal["normal", "urgent"] = "normal"


class SelfDisposeCreate(ReportCreate):
    # Not empty: the door refuses self_dispose without a note (the table's requires_note).
    note: str = Field(max_length=1000, description="What was done on the spot")
    after_media_ids: list[int] = Field(default_factory=list, max_length=MAX_PHOTOS)


class TicketCategoryRef(BaseModel):
    code: str
    name: str
    label: str


class TicketUnitRef(BaseModel):
    id: int
    name: str


class TicketPoint(BaseModel):
    lng: float
    lat: float


class TicketMediaOut(MediaOut):
    stage: str


class TicketOut(BaseModel):
    id: int
    number: str | None
    status: str
    status_label: str
    source: str
    category: TicketCategoryRef
    description: str
    location: TicketPoint = Field(description="WGS-84")
    address: str
    cell: AreaRef | None = None
    unit: TicketUnitRef | None = None
    urgency: str
    is_public: bool
    content_held: bool = Field(description="Held by the content check until staff review it")
    routed_by: str
    deadline_at: datetime | None = None
    deadline_colour: Literal["green", "yellow", "red"] | None = None
    is_overdue: bool
    version: int
    follower_count: int
    is_mine: bool = Field(description="The caller reported or follows it")
    assignee_label: str | None = Field(default=None, description="Role + surname only")
    allowed_actions: list[str] = Field(description="What the caller may do now")
    created_at: datetime
    updated_at: datetime


class EventOut(BaseModel):
    action: str
    action_label: str
    actor_label: str = Field(description="居民 / 系统 / role + surname, never a full name")
    from_status: str | None
    to_status: str | None
    note: str
    media: list[TicketMediaOut] = Field(default_factory=list)
    created_at: datetime


class TicketDetail(TicketOut):
    media: list[TicketMediaOut]
    timeline: list[EventOut]


class TicketPage(BaseModel):
    items: list[TicketOut]
    next: str | None = None


class PublicTicketOut(BaseModel):
    """What anyone may see of a public ticket: no reporter, no staff identity."""

    id: int
    number: str | None
    status_label: str
    category: TicketCategoryRef
    location: TicketPoint
    distance_m: float
    follower_count: int
    created_at: datetime


class PublicTicketList(BaseModel):
    items: list[PublicTicketOut]


class NearbyQuery(Input):
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    crs: Crs
    category: str | None = Field(default=None, max_length=32)
    radius_m: int = Field(default=50, ge=10, le=2000)


class StaffListQuery(PageQuery):
    status: Status | None = None
    area: str | None = Field(default=None, max_length=32)
    category: str | None = Field(default=None, max_length=32)
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    overdue: bool | None = None


class QueueQuery(PageQuery):
    pass


class TaskQuery(PageQuery):
    scope: Literal["pool", "mine", "verify", "co"] = Field(
        default="pool", description="pool: tasks to claim; mine: claimed by me; verify: "
        "handled tickets in my cells waiting for 核查 (grid workers); co: cases another unit "
        "leads where my unit still owes its 协办 part (handlers)")


class VersionIn(Input):
    version: int | None = Field(default=None, ge=1,
                                description="The version you saw; a stale one gets 409")


class ReasonIn(VersionIn):
    # Not empty: every action taking a ReasonIn requires a reason, and the door says so.
    reason: str = Field(max_length=255)


class HandleIn(VersionIn):
    note: str = Field(max_length=1000)  # not empty: the door (handle requires a note)
    media_ids: list[int] = Field(default_factory=list, max_length=MAX_PHOTOS)


class VerifyIn(VersionIn):
    passed: bool
    note: str = Field(default="", max_length=1000)
    media_ids: list[int] = Field(default_factory=list, max_length=MAX_PHOTOS)


class WithdrawIn(VersionIn):
    reason: str = Field(default="", max_length=200, description="Why, optional (撤回原因)")


class AddInfoIn(VersionIn):
    # A note, photos or both (the service refuses neither).
    note: str = Field(default="", max_length=1000)
    media_ids: list[int] = Field(default_factory=list, max_length=MAX_PHOTOS)


class DispatchIn(VersionIn):
    unit_id: int = Field(ge=1, le=2**31 - 1)


class RecategoriseIn(VersionIn):
    category_code: str = Field(min_length=1, max_length=32)


class MergeIn(VersionIn):
    duplicate_of: int = Field(ge=1, le=2**31 - 1)


class ExtensionIn(VersionIn):
    reason: str = Field(max_length=255)  # not empty: the door (requires a reason)
    extra_value: int = Field(ge=1, le=1000)
    extra_unit: Literal["work_hours", "work_days", "natural_hours", "natural_days"]


class ExtensionOut(BaseModel):
    id: int
    status: str
    reason: str
    extra_value: int
    extra_unit: str
    created_at: datetime

