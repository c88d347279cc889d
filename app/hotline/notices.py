"""The hotline's outbox kind: a status change sent back to the 12345 platform."""

from __future__ import annotations

from app.notifications.outbox import NoticeKind

# Written without a recipient (no person reads it), so `broadcast` (which `notice` requires of
# a row without one); but never fanned out: `push.send`, registered for this kind in
# app/wiring.py, delivers it to the platform's endpoint. Not registered as a message kind
# (app/jobs.py KINDS): it has no in-app text or WeChat template to render.
STATUS_PUSH = NoticeKind("hotline.status_push", "12345 工单状态回推",
                         "案件 {number} 的状态已回推 12345 平台。", broadcast=True)
