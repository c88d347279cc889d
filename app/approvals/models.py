"""The register of requests: one row per 挂账, 延期, 回退 or 作废 asked for on a ticket."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ApprovalKind(StrEnum):
    SUSPEND = "suspend"  # 挂账 (缓办)
    EXTEND = "extend"  # 延期
    SEND_BACK = "send_back"  # 回退
    VOID = "void"  # 作废


class ApprovalStatus(StrEnum):
    PENDING = "pending"  # 待审批
    APPROVED = "approved"  # 已批准
    DENIED = "denied"  # 已驳回
    LAPSED = "lapsed"  # 已失效: the ticket moved on before a decision


class ApprovalRequest(Model):
    """A request on a ticket: who asked, when, why, and who decided it, when, how, why."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Ticket", related_name=False, on_delete=fields.CASCADE)
    ticket_id: int
    kind = fields.CharEnumField(ApprovalKind, max_length=16)
    status = fields.CharEnumField(ApprovalStatus, max_length=16, default=ApprovalStatus.PENDING)
    # The unit holding the ticket and its area path when asked, copied for the register.
    unit_id = fields.IntField(null=True)
    area_path = fields.CharField(max_length=255, default="")
    requested_by: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    requested_by_id: int
    requester_role = fields.CharField(max_length=24)
    reason = fields.CharField(max_length=500)
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.CharField(max_length=500, default="")
    # "<ticket>:<kind>" while pending, NULL once decided: one pending request per ticket and
    # kind, however many requests race for it.
    pending_key = fields.CharField(max_length=64, null=True, unique=True)
    # 延期: the time asked for, and the ticket's extension request it mirrors.
    extension_id = fields.IntField(null=True, unique=True)
    extra_value = fields.IntField(null=True)
    extra_unit = fields.CharField(max_length=16, null=True)
    # 回退: the step the ticket goes back to (today only the dispatch queue).
    back_to = fields.CharField(max_length=16, null=True)

    class Meta:
        table = "approval_requests"
        indexes = (("area_path", "id"), ("unit_id", "id"), ("ticket_id", "kind"))
