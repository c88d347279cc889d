"""The admin API of Open311 client apps (the Open311 answers themselves are plain data)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.core.api import Input
from app.open311.models import Open311Client


class Open311ClientCreate(Input):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$",
                      description="A short slug for the client app, e.g. fms-liuhang")
    name: str = Field(min_length=1, max_length=64, description="The client app's name")


class Open311ClientDeactivate(Input):
    reason: str = Field(default="", max_length=255, description="Why, for the record "
                        "(e.g. 密钥泄露, 应用停用)")


class Open311ClientOut(BaseModel):
    code: str
    name: str
    key_prefix: str = Field(description="The key's first characters, to tell keys apart")
    is_active: bool
    created_at: datetime
    deactivated_at: datetime | None
    deactivated_reason: str

    @classmethod
    def from_model(cls, client: Open311Client) -> Open311ClientOut:
        return cls(code=client.code, name=client.name, key_prefix=client.key_prefix,
                   is_active=client.is_active, created_at=client.created_at,
                   deactivated_at=client.deactivated_at,
                   deactivated_reason=client.deactivated_reason)


class Open311ClientCreated(Open311ClientOut):
    api_key: str = Field(description="Shown this once: only its hash is kept")


class Open311ClientList(BaseModel):
    items: list[Open311ClientOut]


class Open311ContactOut(BaseModel):
    """What the client app sent about the person behind a request: for staff in scope only."""

    client_code: str
    client_name: str
    email: str
    first_name: str
    last_name: str
    phone: str
    account_id: str
    device_id: str
    media_url: str
    answers: dict[str, str | list[str]] = Field(description="attribute[code] answers")
