"""A hotline case: the caller and the 12345 order behind a ticket (staff only)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class CallbackResult(StrEnum):
    """回访: what the caller said when called back."""

    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意
    UNREACHABLE = "unreachable"  # 未接通


class HotlineCase(Model):
    """The caller and 12345 order of a hotline ticket, kept out of the ticket (staff only)."""

    id = fields.IntField(primary_key=True)
    ticket: fields.OneToOneRelation = fields.OneToOneField(
        "models.Ticket", related_name=False, on_delete=fields.CASCADE)
    ticket_id: int
    # The 12345 platform that pushed it, and its order number (工单编号), if pushed.
    integration: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Integration", related_name=False, null=True, on_delete=fields.RESTRICT)
    integration_id: int | None
    order_number = fields.CharField(max_length=64, null=True)
    caller_name = fields.CharField(max_length=64, default="")
    caller_phone = fields.CharField(max_length=32, default="")
    wants_callback = fields.BooleanField(default=True)
    filed_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    filed_by_id: int | None
    callback_result = fields.CharEnumField(CallbackResult, max_length=24, null=True)
    callback_note = fields.CharField(max_length=500, default="")
    callback_at = fields.DatetimeField(null=True)
    callback_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    callback_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "hotline_cases"
        # One ticket per order of a platform (staff-filed cases have no order: NULLs differ).
        unique_together = (("integration", "order_number"),)


class HotlineForward(Model):
    """热线推送: a case forwarded to an outside body, and the body's answer (staff only)."""

    id = fields.IntField(primary_key=True)
    ticket: fields.OneToOneRelation = fields.OneToOneField(
        "models.Ticket", related_name=False, on_delete=fields.CASCADE)
    ticket_id: int
    body_name = fields.CharField(max_length=100)  # the outside body (外部单位)
    body_contact = fields.CharField(max_length=100, default="")  # its phone or mailbox
    external_number = fields.CharField(max_length=64, default="")  # the body's own order number
    reason = fields.CharField(max_length=255)
    forwarded_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    forwarded_by_id: int | None
    forwarded_at = fields.DatetimeField()
    reply = fields.CharField(max_length=1000, default="")  # 回复: what the body answered
    replied_at = fields.DatetimeField(null=True)
    replied_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    replied_by_id: int | None

    class Meta:
        table = "hotline_forwards"
