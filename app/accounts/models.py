"""Users, their area- or unit-scoped roles, and refresh-token sessions."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from app.accounts.scope import STAFF_ROLES, Role, scope_of

__all__ = ["STAFF_ROLES", "AccountChange", "RefreshToken", "Role", "RoleGrant", "User"]


class User(Model):
    id = fields.IntField(primary_key=True)
    # Residents log in through WeChat (openid); staff with username + password. Either may be null.
    openid = fields.CharField(max_length=64, unique=True, null=True)
    unionid = fields.CharField(max_length=64, null=True)
    username = fields.CharField(max_length=64, unique=True, null=True)
    password_hash = fields.CharField(max_length=255, null=True)
    display_name = fields.CharField(max_length=64, default="")
    # Shown on public timelines as role + surname only (e.g. 网格员 王).
    surname = fields.CharField(max_length=16, default="")
    work_phone = fields.CharField(max_length=32, default="")
    home_area: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Area", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    home_area_id: int | None
    is_active = fields.BooleanField(default=True)
    # A staff account's own WeChat, bound while signed in (POST /me/wechat) so that subscribe
    # messages reach them. Apart from `openid`, which is a resident's login: binding grants
    # no password-less staff login, and the same person keeps their resident account.
    wechat_openid = fields.CharField(max_length=64, unique=True, null=True)
    # 注销: when the resident deleted the account. The row stays, emptied, as the tombstone
    # their reports and ratings point at (docs/operations.md, "Personal data").
    deleted_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "users"

    # The area tree sits below accounts and knows no roles: it asks whoever changes it through
    # these (areas.service.TreeEditor). Which roles may do what to it is said here, with them.
    def may_edit_area(self, path: str) -> bool:
        """Admins and the community's own staff edit names and office contacts."""
        return scope_of(self).covers(path, Role.ADMIN, Role.COMMUNITY_STAFF)

    def may_import_areas(self, under: str | None = None) -> bool:
        """Admins add areas below one in their subtree ("/" for a new district); without
        `under`, whether they may import at all."""
        scope = scope_of(self)
        return scope.has(Role.ADMIN) if under is None else scope.covers(under, Role.ADMIN)


class RoleGrant(Model):
    """One role of one user, scoped to an area subtree (staff) or a unit (handlers)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="grants", on_delete=fields.CASCADE
    )
    user_id: int
    role = fields.CharEnumField(Role, max_length=32)
    area: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Area", related_name=False, null=True, on_delete=fields.CASCADE
    )
    area_id: int | None
    unit: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Unit", related_name=False, null=True, on_delete=fields.CASCADE
    )
    unit_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "role_grants"
        unique_together = (("user", "role", "area", "unit"),)


class RefreshToken(Model):
    """An opaque refresh token, stored hashed, rotated on every use (reuse revokes the family)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    user_id: int
    family_id = fields.CharField(max_length=36, db_index=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refresh_tokens"


class AccountChange(Model):
    """The record of a change an admin made to a staff account: its grants replaced, or the
    account deactivated or reactivated. Who, when, and the grants or state before and after."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    user_id: int
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    actor_id: int | None
    action = fields.CharField(max_length=16)  # grants | deactivated | activated
    before: fields.JSONField[Any] = fields.JSONField(null=True)
    after: fields.JSONField[Any] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "account_changes"
        indexes = (("user_id", "id"),)
