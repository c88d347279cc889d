"""The ticket status machine: which action, from which status, by which role, leads where.

This module is the single source of truth for status changes (DESIGN §4): services call
`resolve()` before writing a status and write exactly `Transition.to_state` (or keep the status
when it is None). It knows nothing about scope — whether *this* grid worker covers *this* cell,
whether the releaser is the claimant, whether an extension request is pending — the service
checks that after `resolve()` has passed. Pure data and functions; no database, no web.

The design, in one line per stage (数字城管 closed loop: 上报 → 立案 → 派遣 → 处置 → 核查 → 结案):

    (new) ──submit──▶ submitted ──accept / auto_accept──▶ accepted ──dispatch──▶ dispatched
    submitted ──reject──▶ rejected                          (final)
    submitted ──withdraw──▶ rejected                        (撤回: the reporter, before 立案)
    dispatched ──claim──▶ claimed ──handle──▶ handled ──request_verification──▶ verifying
    verifying ──verify_pass──▶ closed        handled | verifying ──close──▶ closed
    verifying ──verify_fail──▶ reopened ──dispatch──▶ dispatched        (返工: same unit)
    closed ──rate_rework──▶ reopened                                     (重办: unsatisfied rating)
    dispatched | claimed ──return──▶ returned ──dispatch──▶ dispatched  (退回: "not ours")
    claimed ──release──▶ dispatched
    submitted | accepted | returned | dispatched ──merge──▶ merged      (final)
    (new) ──self_dispose──▶ closed                                       (自行处置)
    any open status ──add_info──▶ (kept)                 (补充信息: the reporter adds a note/photos)
    any open status ──supervise──▶ (kept)                (督办: a supervisor presses the holder)
    any open status ──progress_note / ask_info──▶ (kept) (进展说明, 请求补充信息: staff to the reporter)
    dispatched | claimed ──suspend──▶ suspended ──resume──▶ dispatched  (挂账/缓办, approved)
    dispatched | claimed ──send_back──▶ returned                        (回退, approved)
    accepted | returned | dispatched | claimed | reopened | suspended ──void──▶ voided (作废)
    dispatched | claimed | returned | reopened | escalated ──escalate──▶ escalated  (上报/升级)
    escalated ──accept_escalation──▶ dispatched          (the next level's staff pick a unit)
    dispatched | claimed ──add_co_unit | waive_co_unit | co_report──▶ (kept)  (主办/协办)
    submitted | accepted | returned ──forward──▶ forwarded ──forward_reply──▶ (kept)  (热线推送)

`handled` and `verifying` are both kept on purpose: `handled` means the unit reported the work
done; `verifying` means a 核查 task is out to the cell's grid worker. The system issues
`request_verification` right after `handle` when verification is wanted; a dispatcher may instead
`close` straight from `handled` (e.g. the reporter confirmed by phone). Extension requests (延期)
move a deadline, never the status, so their `to_state` is None.

挂账, 回退 and 作废 (issue 15 item 4) are requests a supervisor decides (app/approvals): the
`request_*` rows record the request on the timeline and keep the status; `suspend`,
`send_back` and `void` are the approved effects; `refuse_request` records a refusal.

上报/升级 (issue 15 item 3, app/escalation): a case its level cannot solve goes one level up
the area tree (grid → community → street → district) and waits, unit-less, in that level's
queue (`escalated`, on the clock of the deadline it had) until that level's staff accept it
by dispatching it to a unit of their choice (`accept_escalation`), which resets the deadline
to the level's limit. Who may ask and accept at which level is the service's (scope).
主办/协办 rows keep the status: a dispatcher adds or waives a co-handling unit, the co-unit's
handler records its part; the lead unit's `handle` waits for every co-unit.

热线推送 (issue 14, app/hotline): a case outside the district's remit is forwarded by a
dispatcher to an outside body (`forward`, final: not ours to handle, out of the rates like a
merged duplicate, counted in 推送数); the body's answer is recorded later (`forward_reply`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Ticket statuses as the API names them."""

    SUBMITTED = "submitted"  # 上报
    ACCEPTED = "accepted"  # 立案
    REJECTED = "rejected"  # 不予立案
    DISPATCHED = "dispatched"  # 已派遣
    CLAIMED = "claimed"  # 已认领
    HANDLED = "handled"  # 已处置
    VERIFYING = "verifying"  # 待核查
    CLOSED = "closed"  # 已结案
    RETURNED = "returned"  # 退回: the unit says "not ours"; back in the dispatch queue
    REOPENED = "reopened"  # 返工/重办: failed verification or unsatisfied rating
    MERGED = "merged"  # 已合并: a duplicate of another ticket
    SUSPENDED = "suspended"  # 挂账/缓办: approved to wait; the deadline clock is paused
    VOIDED = "voided"  # 已作废: approved as void; out of the rates
    ESCALATED = "escalated"  # 已上报上级: waits in the next level's queue for a unit
    FORWARDED = "forwarded"  # 已转外部处理: forwarded to an outside body (热线推送); final


STATUS_LABELS: dict[str, str] = {
    Status.SUBMITTED: "已上报",
    Status.ACCEPTED: "已立案",
    Status.REJECTED: "不予立案",
    Status.DISPATCHED: "已派遣",
    Status.CLAIMED: "已认领",
    Status.HANDLED: "已处置",
    Status.VERIFYING: "待核查",
    Status.CLOSED: "已结案",
    Status.RETURNED: "已退回",
    Status.REOPENED: "返工重办",
    Status.MERGED: "已合并",
    Status.SUSPENDED: "已挂账",
    Status.VOIDED: "已作废",
    Status.ESCALATED: "已上报上级",
    Status.FORWARDED: "已转外部处理",
}

INITIAL_STATUS = Status.SUBMITTED
# No action leads out of rejected, merged, voided or forwarded; closed only via rate_rework (重办).
FINAL_STATUSES: frozenset[str] = frozenset({Status.CLOSED, Status.REJECTED, Status.MERGED,
                                            Status.VOIDED, Status.FORWARDED})
OPEN_STATUSES: frozenset[str] = frozenset(Status) - FINAL_STATUSES
# Ended without being worked: off the public map, and never the original of a merge. A
# forwarded case is not dropped: the problem is real, the public sees where it went.
DROPPED_STATUSES: frozenset[str] = frozenset({Status.REJECTED, Status.MERGED, Status.VOIDED})
# What waits in a dispatcher's queue (with accepted tickets that routing found no unit for,
# and tickets with a pending extension request, which are not a status).
WAITING_FOR_DISPATCHER: frozenset[str] = frozenset(
    {Status.SUBMITTED, Status.RETURNED, Status.REOPENED, Status.HANDLED, Status.VERIFYING}
)
# Someone holds the ticket: the unit it was dispatched to, or the worker who claimed it.
WORKED_STATUSES: frozenset[str] = frozenset({Status.DISPATCHED, Status.CLAIMED})
# The deadline clock runs: dispatched at least once and not yet handled (a returned or
# reopened ticket waits for a dispatcher on the same clock), so it may turn overdue. A
# suspended ticket (挂账) is off the clock: its deadline moves on when it resumes.
# An escalated ticket waits for the next level on the clock it had, until that level accepts it.
ON_THE_CLOCK: frozenset[str] = WORKED_STATUSES | {Status.RETURNED, Status.REOPENED,
                                                  Status.ESCALATED}

# Role names match app.accounts.models.Role (not imported: this module stays free of the ORM).
RESIDENT = "resident"
GRID_WORKER = "grid_worker"
HANDLER = "handler"
COMMUNITY_STAFF = "community_staff"
DISPATCHER = "dispatcher"
ADMIN = "admin"
SUPERVISOR = "supervisor"  # 巡查督办员 (issue 15)
SYSTEM = "system"  # automatic steps: auto-accept, auto-routing, verification requests
# Not an account role: a handler of a co-handling unit (协办, app/escalation), which the service
# establishes per ticket; it records its part as a handler.
CO_HANDLER = "co_handler"
ROLES: frozenset[str] = frozenset(
    {RESIDENT, GRID_WORKER, HANDLER, COMMUNITY_STAFF, DISPATCHER, ADMIN, SUPERVISOR, SYSTEM,
     CO_HANDLER}
)


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: `action` moves any of `from_states` to `to_state` for `roles`."""

    action: str
    # None in from_states marks a creation action (the ticket does not exist yet).
    from_states: frozenset[str | None]
    # None means the action records an event but keeps the status (e.g. extension requests).
    to_state: str | None
    roles: frozenset[str]
    label: str  # Chinese, for buttons and timelines
    requires_reason: bool = False
    requires_note: bool = False
    requires_duplicate_of: bool = False

    @property
    def changes_status(self) -> bool:
        """True when the action writes a new status."""
        return self.to_state is not None

    @property
    def creates(self) -> bool:
        """True when the action creates the ticket (from no status)."""
        return None in self.from_states

    def next_status(self, current: str | None) -> str:
        """The status after this action from `current`: `to_state`, or `current` if unchanged."""
        if self.to_state is not None:
            return self.to_state
        if current is None:
            raise ValueError(f"{self.action} keeps the status, so it cannot create a ticket")
        return current


def _t(
    action: str,
    from_states: Iterable[str | None],
    to_state: str | None,
    roles: Iterable[str],
    label: str,
    **flags: bool,
) -> Transition:
    return Transition(action, frozenset(from_states), to_state, frozenset(roles), label, **flags)


S = Status
NEW = None  # pseudo-state before the ticket exists
# Where the requests of issue 15 item 4 apply (the request and its approved effect alike).
SUSPENDABLE: tuple[str, ...] = (S.DISPATCHED, S.CLAIMED)  # 挂账: while the unit holds it
SENDABLE_BACK: tuple[str, ...] = (S.DISPATCHED, S.CLAIMED)  # 回退: before the unit reports it done
VOIDABLE: tuple[str, ...] = (S.ACCEPTED, S.RETURNED, S.DISPATCHED, S.CLAIMED, S.REOPENED,
                             S.SUSPENDED)  # 作废: accepted (立案) and not yet handled
# 上报/升级 (issue 15 item 3): while a unit holds it or it waits for a dispatcher or the level.
ESCALATABLE: tuple[str, ...] = (S.DISPATCHED, S.CLAIMED, S.RETURNED, S.REOPENED, S.ESCALATED)
# 热线推送: before any unit works it — on receipt (12345's 转办), after 立案, or after a unit
# returned it as "not ours" and the dispatcher finds it is nobody's in the district.
FORWARDABLE: tuple[str, ...] = (S.SUBMITTED, S.ACCEPTED, S.RETURNED)

# THE table. Order is the order UIs list buttons in. Admins (city IT) manage configuration,
# not cases, so they appear nowhere here; give a person the dispatcher role to work cases.
# fmt: off
_TABLE: tuple[Transition, ...] = (
    # action                 from                                   to
    #  roles                                                      label, required inputs
    _t("submit",             [NEW],                                 S.SUBMITTED,
       [RESIDENT, GRID_WORKER, COMMUNITY_STAFF, DISPATCHER, SYSTEM], "上报"),
    _t("self_dispose",       [NEW],                                 S.CLOSED,
       [GRID_WORKER], "自行处置", requires_note=True),
    _t("auto_accept",        [S.SUBMITTED],                         S.ACCEPTED,
       [SYSTEM], "自动立案"),
    _t("accept",             [S.SUBMITTED],                         S.ACCEPTED,
       [DISPATCHER], "立案"),
    _t("reject",             [S.SUBMITTED],                         S.REJECTED,
       [DISPATCHER], "不予立案", requires_reason=True),
    # From reopened the service dispatches to the same unit (返工); from returned, to another.
    _t("dispatch",           [S.ACCEPTED, S.RETURNED, S.REOPENED],  S.DISPATCHED,
       [DISPATCHER, SYSTEM], "派遣"),
    _t("claim",              [S.DISPATCHED],                        S.CLAIMED,
       [GRID_WORKER, HANDLER], "认领"),
    _t("handle",             [S.CLAIMED],                           S.HANDLED,
       [GRID_WORKER, HANDLER], "处置完成", requires_note=True),
    _t("request_verification", [S.HANDLED],                         S.VERIFYING,
       [SYSTEM, DISPATCHER], "发起核查"),
    _t("verify_pass",        [S.VERIFYING],                         S.CLOSED,
       [GRID_WORKER, DISPATCHER], "核查通过"),
    _t("verify_fail",        [S.VERIFYING],                         S.REOPENED,
       [GRID_WORKER, DISPATCHER], "核查不通过", requires_reason=True),
    # Closing without a field check, e.g. the reporter confirmed by phone.
    _t("close",              [S.HANDLED, S.VERIFYING],              S.CLOSED,
       [DISPATCHER], "结案"),
    _t("rate_rework",        [S.CLOSED],                            S.REOPENED,
       [COMMUNITY_STAFF, DISPATCHER], "不满意重办", requires_reason=True),
    _t("release",            [S.CLAIMED],                           S.DISPATCHED,
       [GRID_WORKER, HANDLER], "取消认领"),
    _t("return",             [S.DISPATCHED, S.CLAIMED],             S.RETURNED,
       [GRID_WORKER, HANDLER], "退回", requires_reason=True),
    _t("request_extension",  [S.DISPATCHED, S.CLAIMED],             None,
       [GRID_WORKER, HANDLER], "申请延期", requires_reason=True),
    _t("approve_extension",  [S.DISPATCHED, S.CLAIMED],             None,
       [DISPATCHER, SUPERVISOR], "批准延期"),
    _t("refuse_extension",   [S.DISPATCHED, S.CLAIMED],             None,
       [DISPATCHER, SUPERVISOR], "驳回延期", requires_reason=True),
    _t("recategorise",       [S.SUBMITTED, S.ACCEPTED, S.RETURNED], None,
       [DISPATCHER], "重新分类"),
    _t("merge",              [S.SUBMITTED, S.ACCEPTED, S.RETURNED, S.DISPATCHED], S.MERGED,
       [DISPATCHER], "合并重复案件", requires_duplicate_of=True),
    # The reporter's own moves. A withdrawn report ends as rejected with reason "居民撤回" but
    # without rejected_at (the service leaves it unset), so it is no 不予立案 in the statistics.
    _t("withdraw",           [S.SUBMITTED],                         S.REJECTED,
       [RESIDENT], "撤回"),
    _t("add_info",           sorted(OPEN_STATUSES),                 None,
       [RESIDENT], "补充信息"),
    # Talking to the reporter (app/conversation): a public progress note, and a request for
    # more information the reporter answers with add_info. Grid workers and handlers speak
    # only for tasks that are theirs (the service checks the duty).
    _t("progress_note",      sorted(OPEN_STATUSES),                 None,
       [GRID_WORKER, HANDLER, COMMUNITY_STAFF, DISPATCHER], "进展说明", requires_note=True),
    _t("ask_info",           sorted(OPEN_STATUSES),                 None,
       [GRID_WORKER, HANDLER, COMMUNITY_STAFF, DISPATCHER], "请求补充信息", requires_note=True),
    # 督办 (app/supervision): a supervisor or dispatcher presses on an open ticket; the
    # system raises one when a ticket passes its deadline. The status is kept.
    _t("supervise",          sorted(OPEN_STATUSES),                 None,
       [SUPERVISOR, DISPATCHER, SYSTEM], "督办", requires_note=True),
    # Requests a supervisor decides (app/approvals, issue 15 item 4). Asking keeps the status;
    # who may ask for what on which ticket (on duty, one pending per kind) is the service's.
    _t("request_suspend",    SUSPENDABLE,                           None,
       [GRID_WORKER, HANDLER], "申请挂账", requires_reason=True),
    _t("request_send_back",  SENDABLE_BACK,                         None,
       [GRID_WORKER, HANDLER, DISPATCHER], "申请回退", requires_reason=True),
    _t("request_void",       VOIDABLE,                              None,
       [DISPATCHER], "申请作废", requires_reason=True),
    _t("refuse_request",     sorted(OPEN_STATUSES),                 None,
       [SUPERVISOR, DISPATCHER], "驳回申请", requires_reason=True),
    # The approved effects. 挂账 and 作废 only a supervisor grants; 回退 lands in the
    # dispatchers' own queue, so a dispatcher (not the one who asked) may grant it too.
    _t("suspend",            SUSPENDABLE,                           S.SUSPENDED,
       [SUPERVISOR], "批准挂账"),
    _t("resume",             [S.SUSPENDED],                         S.DISPATCHED,
       [SUPERVISOR, DISPATCHER, SYSTEM], "恢复办理"),
    _t("send_back",          SENDABLE_BACK,                         S.RETURNED,
       [SUPERVISOR, DISPATCHER], "批准回退"),
    _t("void",               VOIDABLE,                              S.VOIDED,
       [SUPERVISOR], "批准作废"),
    # 上报/升级 (app/escalation, issue 15 item 3): whoever holds the task or staff of the
    # current level asks; the next level's staff accept it with a dispatch to their unit.
    _t("escalate",           ESCALATABLE,                           S.ESCALATED,
       [GRID_WORKER, HANDLER, COMMUNITY_STAFF, DISPATCHER], "上报上级", requires_reason=True),
    _t("accept_escalation",  [S.ESCALATED],                         S.DISPATCHED,
       [COMMUNITY_STAFF, DISPATCHER], "受理上报并派遣"),
    # 主办/协办: the dispatcher adds or waives co-handling units; each co-unit's handler
    # records its part. The status is kept.
    _t("add_co_unit",        WORKED_STATUSES,                       None,
       [DISPATCHER], "增加协办单位"),
    _t("waive_co_unit",      WORKED_STATUSES,                       None,
       [DISPATCHER], "免除协办", requires_reason=True),
    _t("co_report",          WORKED_STATUSES,                       None,
       [CO_HANDLER], "协办反馈", requires_note=True),
    # 热线推送 (app/hotline, issue 14): the command centre forwards a case outside the
    # district's remit to an outside body, and records the body's answer when it comes.
    _t("forward",            FORWARDABLE,                           S.FORWARDED,
       [DISPATCHER], "转外部处理", requires_reason=True),
    _t("forward_reply",      [S.FORWARDED],                         None,
       [DISPATCHER], "记录外部回复", requires_note=True),
)
# fmt: on

TRANSITIONS: dict[str, Transition] = {t.action: t for t in _TABLE}
if len(TRANSITIONS) != len(_TABLE):  # a typo'd copy-paste row would silently shadow another
    raise RuntimeError("duplicate action in the transition table")


class TransitionError(Exception):
    """A refused action; `code` is a stable identifier, `message` is shown to the user."""

    def __init__(self, code: str, message: str, *, action: str, status: str | None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.action = action
        self.status = status


def status_label(status: str | None) -> str:
    """The Chinese label of a status ("未创建" for no status, the raw value if unknown)."""
    if status is None:
        return "未创建"
    return STATUS_LABELS.get(status, status)


def resolve(*, action: str, status: str | None, roles: Iterable[str]) -> Transition:
    """The transition for `action` on a ticket in `status` by someone holding `roles`, or raise.

    Raises TransitionError with code `unknown_action`, `role_not_allowed` or
    `invalid_transition`. Roles are checked before the status so that someone who may never
    take the action learns nothing about the ticket's state.
    """
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise TransitionError("unknown_action", "不支持的操作", action=action, status=status)
    if transition.roles.isdisjoint(roles):
        raise TransitionError(
            "role_not_allowed", "您的角色不能执行此操作", action=action, status=status
        )
    if status not in transition.from_states:
        if status is None:
            message = "案件尚未创建，不能执行此操作"
        else:
            message = f"当前状态（{status_label(status)}）不能执行此操作"
        raise TransitionError("invalid_transition", message, action=action, status=status)
    return transition


def allowed_actions(status: str | None, roles: Iterable[str]) -> list[str]:
    """Actions that `roles` may take on a ticket in `status`, in table order (for UIs)."""
    held = frozenset(roles)
    return [t.action for t in _TABLE if status in t.from_states and not t.roles.isdisjoint(held)]


# Separation of duties (issue 15): whoever handled the work under check may not check it —
# neither 核查 it nor close it without a check. The check falls to another grid worker of
# the cell, the staff collector who patrol-reported it (a grid worker of the cell) or a
# dispatcher. SEPARATE_VERIFICATION=false turns it off for a district that must.
SEPARATED_FROM_HANDLING: frozenset[str] = frozenset({"verify_pass", "verify_fail", "close"})
SEPARATION_CODE = "own_handling"
SEPARATION_MESSAGE = "您处置了该案件，不能由您核查或结案，请由本网格其他网格员、上报的采集员或派遣员核查"


def separation_refusal(*, action: str, actor_id: int | None,
                       handled_by: int | None) -> TransitionError | None:
    """The refusal when `actor_id` would check their own handling (`handled_by`), else None."""
    if action not in SEPARATED_FROM_HANDLING or actor_id is None or handled_by is None:
        return None
    if actor_id != handled_by:
        return None
    return TransitionError(SEPARATION_CODE, SEPARATION_MESSAGE, action=action, status=None)
