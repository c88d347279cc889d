"""What each outbox kind says: the in-app title and body (Chinese), and the WeChat template.

Pure: no database, no network. `render(kind, payload)` gives the in-app text;
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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core.workcalendar import SHANGHAI
from app.tickets.workflow import status_label

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


def _clean(value: str) -> str:
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
    text = _clean("" if value is None else str(value))
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


# --- what each kind says ------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    hint: str  # the short line for a WeChat `thing` field


@dataclass(frozen=True)
class KindText:
    title: str
    body: str
    hint: str
    template: str | None = "ticket_progress"


_DEFAULT = KindText("案件有新进展", "案件 {number} 当前状态：{status_label}。",
                    "案件有新进展，请查看详情")

KINDS: dict[str, KindText] = {
    "ticket.accept": KindText(
        "案件已受理", "您反映的问题（编号 {number}）已受理立案，我们会尽快安排处理。",
        "您反映的问题已受理立案"),
    "ticket.auto_accept": KindText(
        "案件已受理", "您反映的问题（编号 {number}）已受理立案，我们会尽快安排处理。",
        "您反映的问题已受理立案"),
    "ticket.reject": KindText(
        "案件不予立案", "您反映的问题（编号 {number}）经审核不予立案，原因请在案件详情中查看。",
        "经审核不予立案，原因请查看详情"),
    "ticket.dispatch": KindText(
        "案件已派遣", "您反映的问题（编号 {number}）已派遣至处置单位，请耐心等待处理。",
        "已派遣至处置单位，请耐心等待"),
    "ticket.handle": KindText(
        "案件已处置", "您反映的问题（编号 {number}）已处置完毕，正在等待现场核查。",
        "已处置完毕，等待现场核查"),
    "ticket.verify_pass": KindText(
        "案件核查通过", "您反映的问题（编号 {number}）经现场核查已解决，感谢您的参与。",
        "经现场核查问题已解决"),
    "ticket.close": KindText(
        "案件已结案", "您反映的问题（编号 {number}）已办结，欢迎对处理结果进行评价。",
        "已办结，欢迎评价处理结果"),
    "ticket.merge": KindText(
        "案件已合并", "您反映的问题（编号 {number}）已与相同问题合并处理，进展将在原案件中更新。",
        "已与相同问题合并处理"),
    "ticket.task_assigned": KindText(
        "新任务待处理", "案件 {number} 已派给您所在的单位，请及时认领处理。",
        "新任务已派发，请及时认领处理", template="task_assigned"),
    "ticket.extension_decided": KindText(
        "延期申请{result}", "案件 {number} 的延期申请{result}。", "延期申请{result}"),
    # Written by periodic jobs and broadcasts (at most once each: see Outbox.dedupe_key).
    "ticket.deadline_near": KindText(
        "任务即将超时", "案件 {number} 的处理时限已过八成，将于 {deadline} 到期，请抓紧处理。",
        "处理时限将到，请抓紧处理", template="task_assigned"),
    "rating.remind": KindText(
        "请评价处理结果", "您反映的问题（编号 {number}）已办结，请对处理结果进行评价，"
        "您的意见会帮助我们改进工作。", "问题已办结，请您评价处理结果"),
    "rating.replied": KindText(
        "您的评价有了回复", "工作人员回复了您对案件 {number} 的评价，请查看。",
        "工作人员回复了您的评价"),
    "poll.opened": KindText(
        "社区投票开始了", "「{title}」已开始投票，{closes} 截止，欢迎参与。",
        "社区投票已开始，欢迎参与", template="poll_notice"),
    # Never more than "it closed": no counts, no answers (anonymous polls above all).
    "poll.closed": KindText(
        "投票已结束", "「{title}」已结束，感谢您的参与，结果可在投票页查看。",
        "投票已结束，可查看结果", template="poll_notice"),
}

_EXTENSION_RESULTS = {"approve_extension": "已批准", "refuse_extension": "未获批准"}


def _when(value: Any) -> datetime | None:
    """A payload time (ISO 8601 text) as a datetime; None when absent or unreadable."""
    if isinstance(value, datetime):
        return value
    try:
        when = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None


def _values(payload: Mapping[str, Any]) -> dict[str, str]:
    number = payload.get("number") or ""
    deadline, closes = _when(payload.get("deadline_at")), _when(payload.get("closes_at"))
    return {
        "number": str(number) if number else "（无编号）",
        "status_label": status_label(payload.get("status")) if payload.get("status") else "已更新",
        "result": _EXTENSION_RESULTS.get(str(payload.get("action", "")), "已处理"),
        "title": _clean(str(payload.get("title") or "社区投票")),
        "deadline": format_time(deadline) if deadline else "时限",
        "closes": format_time(closes) if closes else "到期",
    }


def text_for(kind: str) -> KindText:
    return KINDS.get(kind, _DEFAULT)


def render(kind: str, payload: Mapping[str, Any]) -> Rendered:
    """The in-app message for an outbox row (never fails on a short or odd payload)."""
    spec, values = text_for(kind), _values(payload)
    return Rendered(title=_cut(spec.title.format(**values), 64),
                    body=_cut(spec.body.format(**values), 255),
                    hint=spec.hint.format(**values))


# --- WeChat templates -------------------------------------------------------------------------

FieldBuilder = Callable[[Mapping[str, Any], Rendered, datetime, Mapping[str, Any]],
                        dict[str, Any]]


def _progress(payload: Mapping[str, Any], text: Rendered, when: datetime,
              context: Mapping[str, Any]) -> dict[str, Any]:
    # 案件进度提醒: 案件编号 · 问题描述 · 办理状态 · 温馨提示 · 更新时间
    return {"character_string1": payload.get("number") or "",
            "thing2": context.get("description") or text.title,
            "phrase3": _values(payload)["status_label"],
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
    return {"thing1": _values(payload)["title"],
            "time2": _when(payload.get("closes_at")) or when,
            "thing3": text.hint}


# template name → how its fields are filled (keys as in the console's template)
TEMPLATES: dict[str, FieldBuilder] = {
    "ticket_progress": _progress,
    "task_assigned": _task,
    "poll_notice": _poll,
}


def template_for(kind: str) -> str | None:
    """The template name a kind is pushed with (None: in-app only)."""
    name = text_for(kind).template
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
