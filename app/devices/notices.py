"""What the devices domain tells people: the admins of an area hear of a silent device."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.notifications.outbox import NoticeKind


def values(payload: Mapping[str, Any]) -> Mapping[str, str]:
    return {"device_code": str(payload.get("device_code", "")),
            "device_name": str(payload.get("device_name", "")),
            "since": str(payload.get("since_label", "登记以来"))}


SILENT = NoticeKind("device.silent", "设备长时间未上报",
                    "设备 {device_code}（{device_name}）自{since}起没有上报任何数据，"
                    "请检查设备及其接入平台。", hint="设备长时间未上报", values=values)

KINDS: tuple[NoticeKind, ...] = (SILENT,)
