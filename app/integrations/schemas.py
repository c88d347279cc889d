"""Request and response models of the integrations domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.core.api import Input
from app.core.paging import PageQuery
from app.integrations.models import Integration, IntegrationKey, IntegrationKind

CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,31}$"
URL_PATTERN = r"^https?://[^\s]{1,500}$"


class IntegrationCreate(Input):
    code: str = Field(pattern=CODE_PATTERN, description="Sent as X-Gongzhi-Integration")
    name: str = Field(min_length=1, max_length=64)
    kind: IntegrationKind
    rate_per_minute: int = Field(default=600, ge=1, le=100_000,
                                 description="Signed requests allowed per minute")
    endpoint_url: str = Field(default="", max_length=512, pattern=rf"({URL_PATTERN})|^$",
                              description="Where status changes are sent back (12345)")


class IntegrationUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    is_active: bool | None = None
    rate_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    endpoint_url: str | None = Field(default=None, max_length=512,
                                     pattern=rf"({URL_PATTERN})|^$")


class KeyRotate(Input):
    overlap_minutes: int = Field(default=1440, ge=0, le=43_200,
                                 description="How long the keys in use stay valid")


class IntegrationKeyOut(BaseModel):
    id: int
    prefix: str = Field(description="The secret's first characters, to tell keys apart")
    created_at: datetime
    expires_at: datetime | None = Field(description="null: valid until the next rotation")

    @classmethod
    def from_model(cls, key: IntegrationKey) -> IntegrationKeyOut:
        return cls(id=key.id, prefix=key.prefix, created_at=key.created_at,
                   expires_at=key.expires_at)


class IntegrationOut(BaseModel):
    id: int
    code: str
    name: str
    kind: IntegrationKind
    is_active: bool
    rate_per_minute: int
    endpoint_url: str
    created_at: datetime
    keys: list[IntegrationKeyOut] = Field(description="Keys still valid, newest first")

    @classmethod
    def from_model(cls, item: Integration, keys: list[IntegrationKey]) -> IntegrationOut:
        return cls(id=item.id, code=item.code, name=item.name, kind=item.kind,
                   is_active=item.is_active, rate_per_minute=item.rate_per_minute,
                   endpoint_url=item.endpoint_url, created_at=item.created_at,
                   keys=[IntegrationKeyOut.from_model(k) for k in keys])


class IntegrationSecretOut(BaseModel):
    """A new key: the secret is shown here once and never again."""

    integration: IntegrationOut
    key_id: int
    secret: str


class IntegrationPage(BaseModel):
    items: list[IntegrationOut]
    next: str | None = None


class IntegrationQuery(PageQuery):
    kind: IntegrationKind | None = None


class HookPingOut(BaseModel):
    """What a signed test request (`POST /hooks/ping`) was accepted as."""

    integration: str
    kind: IntegrationKind
    request_id: str
    body: dict[str, Any]


class FeedQuery(PageQuery):
    limit: int = Field(default=100, ge=1, le=500)


class FeedEvent(BaseModel):
    """One case event. The names are ours (see docs/integrations.md); the Chinese term each is
    meant to carry is in its description."""

    event_id: int = Field(description="事件序号: increasing, the cursor runs over it")
    ticket_number: str | None = Field(description="案件编号")
    source: str = Field(description="案件来源: resident, patrol, hotline, camera, staff …")
    category_code: str = Field(description="小类编码")
    category_name: str = Field(description="小类名称")
    grid_code: str | None = Field(description="单元网格编码 (the grid cell)")
    address: str = Field(description="地址描述")
    lng: float = Field(description="经度, WGS-84")
    lat: float = Field(description="纬度, WGS-84")
    urgency: str = Field(description="紧急程度: normal, urgent")
    action: str = Field(description="操作: submit, accept, dispatch, claim, handle, close …")
    from_status: str | None = Field(description="原状态")
    to_status: str | None = Field(description="案件状态 after the action")
    actor_role: str = Field(description="操作岗位: dispatcher, handler, grid_worker, system …")
    occurred_at: datetime = Field(description="发生时间")


class FeedPage(BaseModel):
    items: list[FeedEvent]
    next: str | None = Field(description="Read on from here; null: nothing newer yet, poll "
                             "again later with the last cursor you got")
    cursor: str | None = Field(description="The cursor after the last item of this page (keep "
                               "it: it resumes the feed even when `next` is null)")
