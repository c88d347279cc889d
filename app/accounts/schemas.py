"""Request and response models of the accounts domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.accounts.models import Role
from app.areas.schemas import AreaOut, AreaRef
from app.core.api import Input
from app.core.paging import PageQuery


class WechatLoginIn(Input):
    code: str = Field(min_length=1, max_length=128, description="The code from wx.login")


class DevLoginIn(Input):
    # Stored as "dev-<openid>" in a 64-character column.
    openid: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_\-]+$")
    display_name: str = Field(default="", max_length=64)


class PasswordLoginIn(Input):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshIn(Input):
    refresh_token: str = Field(min_length=1, max_length=128)


class TokenPair(BaseModel):
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    token_type: str = "Bearer"


class GrantOut(BaseModel):
    role: Role
    area: AreaRef | None = None
    unit_id: int | None = None
    unit_name: str | None = None


class UserOut(BaseModel):
    id: int
    display_name: str
    surname: str
    username: str | None = None
    work_phone: str = ""
    is_active: bool
    home_area: AreaRef | None = None
    roles: list[GrantOut]
    created_at: datetime
    wechat_bound: bool = Field(default=False, description="A staff account has bound its "
                               "WeChat for subscribe messages (POST /me/wechat)")


class UserPage(BaseModel):
    items: list[UserOut]
    next: str | None = None


class GrantIn(Input):
    role: Role
    area_code: str | None = Field(default=None, max_length=32,
                                  description="Area subtree the role covers (staff)")
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="Unit the role covers (handlers)")


class StaffCreate(Input):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    password: str = Field(min_length=10, max_length=256)
    display_name: str = Field(min_length=1, max_length=64)
    surname: str = Field(default="", max_length=16)
    work_phone: str = Field(default="", max_length=32)
    roles: list[GrantIn] = Field(min_length=1, max_length=20)


class GrantsUpdate(Input):
    """Replace a staff account's grants (admins, within their area; never their own)."""

    roles: list[GrantIn] = Field(min_length=1, max_length=20)
    expected: list[GrantIn] | None = Field(
        default=None, max_length=50,
        description="The grants the admin saw: if the account's grants differ now (another "
        "admin changed them), 409 grants_changed and nothing is written")


class AccountChangeOut(BaseModel):
    """One change an admin made to an account: grants replaced, deactivated or activated."""

    id: int
    action: str = Field(description="grants | deactivated | activated")
    actor_id: int | None
    actor_name: str
    before: Any = None
    after: Any = None
    created_at: datetime


class AccountChangeList(BaseModel):
    items: list[AccountChangeOut]


class MeUpdate(Input):
    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    home_area_code: str | None = Field(default=None, max_length=32)


class UserUpdate(Input):
    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    surname: str | None = Field(default=None, max_length=16)
    work_phone: str | None = Field(default=None, max_length=32)
    is_active: bool | None = None


class UserQuery(PageQuery):
    role: Role | None = None
    area: str | None = Field(default=None, max_length=32, description="Area code: users in it")
    limit: int = Field(default=50, ge=1, le=200)


class GridWorkerOut(BaseModel):
    display_name: str
    work_phone: str = Field(description="The work phone they chose to publish, or empty")


class GridInfo(BaseModel):
    """网格信息一键可知: who looks after this cell and where the community office is."""

    cell: AreaOut
    community: AreaOut | None
    grid_workers: list[GridWorkerOut]


class PersonalData(BaseModel):
    """我的数据: everything we hold about the signed-in user, as JSON (个人信息保护法)."""

    exported_at: datetime
    profile: UserOut
    sections: dict[str, list[dict[str, Any]]] = Field(
        description="reports, follows, ratings, poll_ballots (answers of named polls only), "
                    "messages")
    retention: dict[str, str] = Field(description="How long each kind of data is kept")
