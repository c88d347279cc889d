"""How a notice is rendered: its in-app title and body (Chinese), and its WeChat template data.

The texts themselves belong to the domains (`app/<domain>/notices.py`, registered in
`outbox`); this module only formats them. Pure: no database, no network.
`render(kind, payload)` gives the in-app text;
`wechat_fields(kind, payload, when)` gives the template's data with every value fitted to
WeChat's field limits by `fit(key, value)`.

WeChat subscribe-message field limits (the key's letters say its type, e.g. `thing3`):
  thing ≤ 20 characters · phrase ≤ 5 hanzi (hanzi only) · name ≤ 10 hanzi or 20 letters ·
  character_string ≤ 32 (digits, letters, symbols) · number ≤ 32 digits · letter ≤ 32 letters ·
  symbol ≤ 5 · car_number ≤ 8 · phone_number ≤ 17 · time / date are formatted strings.
A value over its limit (or of the wrong script) is refused with 47003, so we fit before sending.

The template keys below must match the templates picked in the mini-program's admin console
(公共模板库); only their ids are configuration (`WECHAT_TEMPLATES`, name → id).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.core.workcalendar import SHANGHAI
from app.notifications import outbox
from app.notifications.outbox import NoticeKind

ELLIPSIS = "…"

# Character limits per field type.
LIMITS: dict[str, int] = {
    "thing": 20,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "phrase": 5,
    "name": 10,  # hanzi; 20 when the name is letters/symbols only
    "car_number": 8,
    "phone_number": 17,
    "amount": 11,
}
_KEY = re.compile(r"^([a-z_]+?)(\d+)$")
_SPACES = re.compile(r"\s+")


def field_type(key: str) -> str:
    """`thing3` → `thing`; `character_string12` → `character_string`."""
    match = _KEY.match(key)
    return match.group(1) if match else key


def is_hanzi(ch: str) -> bool:
    return unicodedata.category(ch) == "Lo" and "CJK" in unicodedata.name(ch, "")


def clean(value: str) -> str:
    """One line, no control or format characters, single spaces."""
    value = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                    for ch in value if unicodedata.category(ch) != "Cf")
    return _SPACES.sub(" ", value).strip()


def _cut(value: str, limit: int) -> str:
    """At most `limit` characters; a cut string ends in "…" (which counts as one)."""
    if len(value) <= limit:
        return value
    return value[: limit - 1] + ELLIPSIS


def format_time(when: datetime) -> str:
    """WeChat `time`: 24-hour clock with the date, Beijing time: `2026年11月25日 14:05`."""
    local = when.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def format_date(when: datetime) -> str:
    local = when.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def fit(key: str, value: Any) -> str:
    """`value` made acceptable for the template field `key` (truncated, wrong script dropped)."""
    kind = field_type(key)
    if isinstance(value, datetime):
        return format_date(value) if kind == "date" else format_time(value)
    text = clean("" if value is None else str(value))
    if kind in ("time", "date"):
        return _cut(text, 32)
    if kind == "thing":
        return _cut(text, LIMITS["thing"])
    if kind == "phrase":  # hanzi only; no room for an ellipsis in five
        return "".join(ch for ch in text if is_hanzi(ch))[: LIMITS["phrase"]]
    if kind == "name":  # pure hanzi (≤ 10) or pure letters/symbols (≤ 20), never mixed
        hanzi = "".join(ch for ch in text if is_hanzi(ch))
        if hanzi:
            return hanzi[: LIMITS["name"]]
        return "".join(ch for ch in text if ch.isascii())[: 2 * LIMITS["name"]]
    if kind == "car_number":  # 粤A12345: one hanzi is allowed
        return text.replace(" ", "")[: LIMITS[kind]]
    if kind in ("character_string", "letter", "symbol", "phone_number"):
        # No hanzi (or any non-ASCII) in these: WeChat refuses them with 47003.
        return "".join(ch for ch in text if ch.isascii() and ch != " ")[: LIMITS[kind]]
    if kind == "number":
        return "".join(ch for ch in text if ch.isdigit() or ch == ".")[: LIMITS["number"]]
    if kind == "amount":
        return text[: LIMITS["amount"]]
    return _cut(text, LIMITS["thing"])  # an unknown type: be as strict as the strictest text


# --- what each kind says (the kinds are the domains'; see `outbox.NoticeKind`) --------------


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    hint: str  # the short line for a WeChat `thing` field
    values: Mapping[str, str] = field(default_factory=dict)  # the placeholders it was made of


# Every registered kind by name (a live view: the composition root fills it).
KINDS = outbox.KINDS


class _Blank(dict[str, str]):
    """Placeholders a payload cannot fill render empty rather than fail delivery."""

    def __missing__(self, key: str) -> str:
        return ""


def when_of(value: Any) -> datetime | None:
    """A payload time (ISO 8601 text) as a datetime; None when absent or unreadable."""
    if isinstance(value, datetime):
        return value
    try:
        when = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None


def values(kind: NoticeKind, payload: Mapping[str, Any]) -> dict[str, str]:
    """The placeholders of a kind's texts: the generic `number`, then the kind's own."""
    number = payload.get("number") or ""
    found = _Blank(number=str(number) if number else "（无编号）")
    if kind.values is not None:
        found.update(kind.values(payload))
    return found


def render(kind: str, payload: Mapping[str, Any]) -> Rendered:
    """The in-app message for an outbox row (never fails on a short or odd payload)."""
    spec = outbox.kind_for(kind)
    found = values(spec, payload)
    return Rendered(title=_cut(spec.title.format_map(found), 64),
                    body=_cut(spec.body.format_map(found), 255),
                    hint=(spec.hint or spec.title).format_map(found), values=found)


# --- WeChat templates -------------------------------------------------------------------------

FieldBuilder = Callable[[Mapping[str, Any], Rendered, datetime, Mapping[str, Any]],
                        dict[str, Any]]


def _progress(payload: Mapping[str, Any], text: Rendered, when: datetime,
              context: Mapping[str, Any]) -> dict[str, Any]:
    # 案件进度提醒: 案件编号 · 问题描述 · 办理状态 · 温馨提示 · 更新时间
    return {"character_string1": payload.get("number") or "",
            "thing2": context.get("description") or text.title,
            "phrase3": text.values.get("status_label", ""),
            "thing4": text.hint,
            "time5": when}


def _task(payload: Mapping[str, Any], text: Rendered, when: datetime,
          context: Mapping[str, Any]) -> dict[str, Any]:
    # 任务派发提醒: 案件编号 · 问题描述 · 任务说明 · 派发时间
    return {"character_string1": payload.get("number") or "",
            "thing2": context.get("description") or text.title,
            "thing3": text.hint,
            "time4": when}


def _poll(payload: Mapping[str, Any], text: Rendered, when: datetime,
          context: Mapping[str, Any]) -> dict[str, Any]:
    # 社区投票通知: 投票主题 · 截止时间 · 温馨提示
    return {"thing1": text.values.get("title", ""),
            "time2": when_of(payload.get("closes_at")) or when,
            "thing3": text.hint}


# template name → how its fields are filled (keys as in the console's template)
TEMPLATES: dict[str, FieldBuilder] = {
    "ticket_progress": _progress,
    "task_assigned": _task,
    "poll_notice": _poll,
}


def template_for(kind: str) -> str | None:
    """The template name a kind is pushed with (None: in-app only)."""
    name = outbox.kind_for(kind).template
    return name if name in TEMPLATES else None


def wechat_fields(kind: str, payload: Mapping[str, Any], when: datetime,
                  context: Mapping[str, Any] | None = None) -> dict[str, dict]:
    """The `data` of a subscribe message for this row, every value fitted to its field.

    `context` carries what the payload lacks, read at send time (the ticket's description).
    """
    name = template_for(kind)
    if name is None:
        return {}
    raw = TEMPLATES[name](payload, render(kind, payload), when, context or {})
    return {key: {"value": fit(key, value)} for key, value in raw.items()}
