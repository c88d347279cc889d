"""Tickets (案件), their immutable timeline, followers, photos, extensions and idempotency keys."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from app.tickets.workflow import Status


class TicketSource(StrEnum):
    RESIDENT = "resident"
    PATROL = "patrol"  # a grid worker's patrol report (巡查上报)
    HOTLINE = "hotline"
    CAMERA = "camera"
    STAFF = "staff"
    OPEN311 = "open311"  # an Open311 GeoReport v2 client app (app/open311)


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class RoutedBy(StrEnum):
    RULE = "rule"  # a routing rule matched
    GRID_TEAM = "grid_team"  # no rule: the cell's grid team
    MANUAL = "manual"  # nothing matched: the dispatchers' queue
    DISPATCHER = "dispatcher"  # dispatched by hand
    SELF = "self"  # self-disposed by the grid worker who reported it


class TicketLevel(StrEnum):
    """The level of the area tree that holds a case (上报/升级, issue 15 item 3)."""

    GRID = "grid"  # 网格
    COMMUNITY = "community"  # 社区
    STREET = "street"  # 街道
    DISTRICT = "district"  # 区


class Ticket(Model):
    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=24, unique=True, null=True)  # public, e.g. 20261125000042
    source = fields.CharEnumField(TicketSource, max_length=16)
    reporter: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    reporter_id: int | None
    category: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Category", related_name=False, on_delete=fields.RESTRICT)
    category_id: int
    description = fields.TextField()
    # WGS-84 as stored; the original point and its CRS exactly as the client sent them.
    lng = fields.FloatField()
    lat = fields.FloatField()
    original_lng = fields.FloatField()
    original_lat = fields.FloatField()
    original_crs = fields.CharField(max_length=8)
    location_accuracy = fields.FloatField(null=True)  # metres, as the phone reported it
    address = fields.CharField(max_length=255, default="")
    cell: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Area", related_name=False, null=True, on_delete=fields.RESTRICT)
    cell_id: int | None
    area_path = fields.CharField(max_length=255, default="", db_index=True)
    unit: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Unit", related_name=False, null=True, on_delete=fields.RESTRICT)
    unit_id: int | None
    assignee: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    assignee_id: int | None
    status = fields.CharEnumField(Status, max_length=16, db_index=True)
    urgency = fields.CharEnumField(Urgency, max_length=8, default=Urgency.NORMAL)
    is_public = fields.BooleanField(default=True)
    # The description failed the content check: hidden from other residents until reviewed.
    content_held = fields.BooleanField(default=False)
    routed_by = fields.CharEnumField(RoutedBy, max_length=16, default=RoutedBy.MANUAL)
    routing_rule_id = fields.IntField(null=True)
    duplicate_of: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name=False, null=True, on_delete=fields.SET_NULL)
    duplicate_of_id: int | None
    version = fields.IntField(default=1)  # optimistic locking: a stale write gets 409
    follower_count = fields.IntField(default=0)
    reject_reason = fields.CharField(max_length=255, default="")
    deadline_at = fields.DatetimeField(null=True)
    is_overdue = fields.BooleanField(default=False, db_index=True)
    rework_count = fields.IntField(default=0)
    return_count = fields.IntField(default=0)
    extension_count = fields.IntField(default=0)
    # 挂账 (issue 15 item 4): since when the ticket waits, off the clock (None: not suspended),
    # and how often it was.
    suspended_at = fields.DatetimeField(null=True)
    suspend_count = fields.IntField(default=0)
    # 上报/升级 (issue 15 item 3): the level that holds the case and the area at that level it
    # was escalated to (None while at its grid).
    level = fields.CharEnumField(TicketLevel, max_length=16, default=TicketLevel.GRID)
    level_area_id = fields.IntField(null=True)
    handled_on_time = fields.BooleanField(null=True)
    closed_on_time = fields.BooleanField(null=True)
    is_self_disposed = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)
    accepted_at = fields.DatetimeField(null=True, db_index=True)  # a statistics stage
    rejected_at = fields.DatetimeField(null=True, db_index=True)  # a statistics stage
    dispatched_at = fields.DatetimeField(null=True)
    first_dispatched_at = fields.DatetimeField(null=True, db_index=True)  # a statistics stage
    claimed_at = fields.DatetimeField(null=True)
    handled_at = fields.DatetimeField(null=True)
    first_handled_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "tickets"
        # (status, deadline_at, area_path): the 超期/即将超期 counts of the workbench and the
        # screen; (status, closed_at): the screen's newest closings. Both were full scans at
        # a million tickets (docs/benchmarks.md, Console and Dashboard).
        indexes = (("status", "area_path"), ("unit_id", "status"), ("category_id", "status"),
                   ("status", "deadline_at", "area_path"), ("status", "closed_at"))


class TicketEvent(Model):
    """One immutable line of the timeline, written in the transaction of the change."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="events", on_delete=fields.CASCADE)
    ticket_id: int
    actor: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    actor_id: int | None
    actor_role = fields.CharField(max_length=24)  # the role the actor acted in, or "system"
    action = fields.CharField(max_length=32)
    from_status = fields.CharField(max_length=16, null=True)
    to_status = fields.CharField(max_length=16, null=True)
    note = fields.TextField(default="")
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ticket_events"


class MediaStage(StrEnum):
    REPORT = "report"  # before
    HANDLING = "handling"  # after
    VERIFICATION = "verification"


class TicketMedia(Model):
    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="media", on_delete=fields.CASCADE)
    ticket_id: int
    media: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Media", related_name=False, on_delete=fields.CASCADE)
    media_id: int
    stage = fields.CharEnumField(MediaStage, max_length=16)
    event_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ticket_media"
        unique_together = (("ticket", "media"),)


class TicketFollower(Model):
    """A resident who reported the same problem ("me too") and wants to hear about it."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="followers", on_delete=fields.CASCADE)
    ticket_id: int
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    user_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ticket_followers"
        unique_together = (("ticket", "user"),)


class ExtensionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    LAPSED = "lapsed"  # the ticket moved on (handled, suspended, voided …) before a decision


class ExtensionRequest(Model):
    """延期: moves the deadline only once a dispatcher approves it."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="extensions", on_delete=fields.CASCADE)
    ticket_id: int
    requested_by: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    requested_by_id: int
    reason = fields.CharField(max_length=255)
    extra_value = fields.IntField()
    extra_unit = fields.CharField(max_length=16)
    status = fields.CharEnumField(ExtensionStatus, max_length=16, default=ExtensionStatus.PENDING)
    decided_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ticket_extensions"


class IdempotencyRecord(Model):
    """A write's Idempotency-Key: the same key retried returns the same result, never twice."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    user_id: int
    key = fields.CharField(max_length=128)
    request_hash = fields.CharField(max_length=64)
    ticket_id = fields.IntField(null=True)  # a report's: it answers with the ticket's detail
    # Any other call's answer, replayed as it was (app/tickets/idempotency.py).
    response_status = fields.IntField(null=True)
    response: fields.JSONField[dict[str, Any]] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_keys"
        unique_together = (("user", "key"),)

