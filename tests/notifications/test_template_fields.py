"""WeChat template fields fitted to WeChat's limits (pure; no database, no network)."""

from datetime import UTC, datetime

import pytest

from app.notifications.templates import (
    KINDS,
    field_type,
    fit,
    render,
    template_for,
    wechat_fields,
)
from tests.fakes.wechat import field_problem

WHEN = datetime(2026, 11, 25, 6, 5, tzinfo=UTC)  # 14:05 in Beijing


def test_field_type_is_the_key_without_its_number():
    assert field_type("thing3") == "thing"
    assert field_type("character_string12") == "character_string"
    assert field_type("phrase2") == "phrase"
    assert field_type("time") == "time"


@pytest.mark.parametrize(("value", "expected"), [
    ("短", "短"),
    ("一" * 20, "一" * 20),  # exactly the limit: untouched
    ("一" * 21, "一" * 19 + "…"),  # one over: 19 + ellipsis = 20 characters
    ("a" * 25, "a" * 19 + "…"),  # letters count the same as hanzi
    ("井盖 松动\n有人\t差点绊倒", "井盖 松动 有人 差点绊倒"),  # one line
    ("", ""),
    (None, ""),
])
def test_thing_is_at_most_twenty_characters(value, expected):
    fitted = fit("thing3", value)
    assert fitted == expected
    assert len(fitted) <= 20


def test_thing_never_splits_a_character_and_counts_emoji_as_one():
    fitted = fit("thing1", "路灯坏了🙏" * 6)
    assert len(fitted) == 20 and fitted.endswith("…")
    fitted.encode("utf-8")  # valid text: no half characters


@pytest.mark.parametrize(("value", "expected"), [
    ("已派遣", "已派遣"),
    ("不予立案", "不予立案"),
    ("已完成处理了吗", "已完成处理"),  # five hanzi at most, no room for an ellipsis
    ("OK已办结!", "已办结"),  # hanzi only: anything else would be 47003
])
def test_phrase_is_at_most_five_hanzi(value, expected):
    assert fit("phrase2", value) == expected


def test_character_string_keeps_32_ascii_characters():
    assert fit("character_string1", "20261125000042") == "20261125000042"
    assert fit("character_string1", "编号A-1 2") == "A-12"
    assert len(fit("character_string1", "9" * 40)) == 32


def test_number_keeps_digits_only():
    assert fit("number4", "共 12.5 件") == "12.5"
    assert len(fit("number4", "1" * 40)) == 32


def test_name_is_ten_hanzi_or_twenty_letters():
    assert fit("name1", "欧阳娜娜娜娜娜娜娜娜娜娜") == "欧阳娜娜娜娜娜娜娜娜"
    assert fit("name1", "Alexander Maximilian Smith") == "Alexander Maximilian"
    assert fit("name1", "王a") == "王"  # mixed scripts are refused: keep the hanzi


def test_time_and_date_are_formatted_in_beijing_time():
    assert fit("time5", WHEN) == "2026年11月25日 14:05"
    assert fit("date2", WHEN) == "2026年11月25日"


def test_every_kind_renders_chinese_text_from_its_payload():
    payload = {"number": "20261125000042", "action": "dispatch", "status": "dispatched",
               "title": "小区停车改造意见征集", "closes_at": WHEN.isoformat(),
               "deadline_at": WHEN.isoformat(), "device_code": "CAM-0042"}
    for kind in KINDS:
        text = render(kind, payload)
        named = ("小区停车改造意见征集" if kind.startswith("poll.")
                 else "CAM-0042" if kind.startswith("device.") else "20261125000042")
        assert text.title and named in text.body, kind
        assert len(text.title) <= 64 and len(text.body) <= 255
    assert "2026年11月25日 14:05 到期" in render("ticket.deadline_near", payload).body
    assert "2026年11月25日 14:05 截止" in render("poll.opened", payload).body
    assert render("ticket.dispatch", payload).title == "案件已派遣"
    assert render("ticket.extension_decided", {"number": "1", "action": "approve_extension"}
                  ).title == "延期申请已批准"
    assert render("ticket.extension_decided", {"number": "1", "action": "refuse_extension"}
                  ).title == "延期申请未获批准"


def test_an_unknown_kind_or_a_thin_payload_still_renders():
    text = render("ticket.something_new", {})
    assert text.title == "案件有新进展" and "（无编号）" in text.body


def test_template_data_passes_wechats_limits_whatever_the_input():
    long = "小区东门外人行道上的井盖松动了，晚上路过的老人差点被绊倒，请尽快派人处理" * 3
    for kind in KINDS:
        data = wechat_fields(kind, {"number": "20261125000042", "status": "reopened",
                                    "action": "rate_rework", "title": long,
                                    "closes_at": "not a time"}, WHEN, {"description": long})
        if template_for(kind) is None:  # in-app only (a silent device's alert to admins)
            assert data == {}, kind
            continue
        assert data, kind
        problems = {key: field_problem(key, item["value"]) for key, item in data.items()}
        assert not any(problems.values()), (kind, problems, data)
    data = wechat_fields("ticket.dispatch", {"number": "20261125000042", "status": "dispatched"},
                         WHEN, {"description": long})
    assert data == {
        "character_string1": {"value": "20261125000042"},
        "thing2": {"value": long[:19] + "…"},
        "phrase3": {"value": "已派遣"},
        "thing4": {"value": "已派遣至处置单位，请耐心等待"},
        "time5": {"value": "2026年11月25日 14:05"},
    }


def test_a_poll_notice_shows_the_title_and_closing_time_and_nothing_of_the_results():
    payload = {"poll_id": 7, "title": "小区停车改造意见征集", "closes_at": WHEN.isoformat()}
    data = wechat_fields("poll.closed", payload, WHEN)
    assert data == {"thing1": {"value": "小区停车改造意见征集"},
                    "time2": {"value": "2026年11月25日 14:05"},
                    "thing3": {"value": "投票已结束，可查看结果"}}
    assert render("poll.closed", payload).body == "「小区停车改造意见征集」已结束，感谢您的参与，结果可在投票页查看。"
