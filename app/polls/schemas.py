"""Request and response models of the polls domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field, model_validator

from app.areas.schemas import AreaRef
from app.core.api import Input
from app.core.paging import PageQuery
from app.polls.models import PollQuestion
from app.polls.rules import PollStatus, QuestionKind, ResultsVisibility

MAX_QUESTIONS = 50
MAX_OPTIONS = 30
MAX_TEXT_LENGTH = 5000


def _id_as_text(value: object) -> object:
    # Option ids are strings in the API; whole numbers are accepted and become "1", "2" ...
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


OptionId = Annotated[str, BeforeValidator(_id_as_text),
                     Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$",
                           description="Letters, digits, _ or -; integers are accepted as text")]
GroupBy = Literal["street", "community", "grid"]


# --- creating ----------------------------------------------------------------------------------


class OptionIn(Input):
    id: OptionId | None = Field(default=None, description="Omitted: 1, 2, 3 … by position")
    label: str = Field(min_length=1, max_length=100)


class QuestionIn(Input):
    kind: QuestionKind
    prompt: str = Field(min_length=1, max_length=500)
    options: list[OptionIn] = Field(default_factory=list, max_length=MAX_OPTIONS,
                                    description="single / multiple only (2–30)")
    min_choices: int | None = Field(default=None, ge=1, le=MAX_OPTIONS,
                                    description="multiple only; default 1")
    max_choices: int | None = Field(default=None, ge=1, le=MAX_OPTIONS,
                                    description="multiple only; default all options")
    max_length: int | None = Field(default=None, ge=1, le=MAX_TEXT_LENGTH,
                                   description="text only, in characters; default 500")
    required: bool = True


class PollCreate(Input):
    area_code: str = Field(min_length=1, max_length=32, description="The target area subtree")
    title: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    opens_at: AwareDatetime | None = Field(default=None, description="Omitted: now")
    closes_at: AwareDatetime
    is_anonymous: bool = True
    results_visibility: ResultsVisibility = ResultsVisibility.AFTER_CLOSE
    questions: list[QuestionIn] = Field(min_length=1, max_length=MAX_QUESTIONS)
    draft: bool = Field(default=False, description=(
        "保存为草稿: only the area's staff see it, nobody is notified, nobody can answer, "
        "until POST /polls/{id}/publish"))


class PollClose(Input):
    reason: str = Field(min_length=1, max_length=255, description="Shown to residents")


# --- answering ---------------------------------------------------------------------------------


class AnswerIn(Input):
    question_id: int = Field(ge=1, le=2**31 - 1)
    option_ids: list[OptionId] | None = Field(default=None, max_length=MAX_OPTIONS,
                                              description="single / multiple")
    value: int | None = Field(default=None, description="scale: 1–5")
    text: str | None = Field(default=None, max_length=MAX_TEXT_LENGTH * 2,
                             description="text; the question's max_length applies")


class ResponseIn(Input):
    answers: list[AnswerIn] = Field(max_length=MAX_QUESTIONS)


class ResponseReceipt(BaseModel):
    poll_id: int
    has_voted: bool = True
    results_visible: bool = Field(description="Whether GET …/results now answers for you")


# --- reading -----------------------------------------------------------------------------------


class OptionOut(BaseModel):
    id: str
    label: str


class QuestionOut(BaseModel):
    id: int
    position: int
    kind: QuestionKind
    prompt: str
    options: list[OptionOut] = Field(default_factory=list)
    min_choices: int | None = None
    max_choices: int | None = None
    max_length: int | None = None
    required: bool

    @classmethod
    def from_model(cls, q: PollQuestion) -> QuestionOut:
        return cls(id=q.id, position=q.position, kind=q.kind, prompt=q.prompt,
                   options=[OptionOut(**o) for o in q.options], min_choices=q.min_choices,
                   max_choices=q.max_choices, max_length=q.max_length, required=q.required)


class PollOut(BaseModel):
    id: int
    title: str
    area: AreaRef
    status: PollStatus
    opens_at: datetime
    closes_at: datetime
    is_anonymous: bool
    results_visibility: ResultsVisibility
    question_count: int
    has_voted: bool | None = Field(default=None, description="Residents only")
    respondent_count: int | None = Field(default=None, description="Staff only")
    created_at: datetime


class PollDetail(PollOut):
    description: str
    close_reason: str | None = Field(default=None, description="Why staff closed it early")
    questions: list[QuestionOut]
    can_vote: bool = Field(description="Open, the caller lives in its area and has not voted")
    results_visible: bool = Field(description="Whether GET …/results answers for the caller")


class PollPage(BaseModel):
    items: list[PollOut]
    next: str | None = None
    area: AreaRef | None = Field(default=None,
                                 description="Residents: the area whose polls these are "
                                 "(home area, or the cell located from lng/lat)")


class PollQuery(PageQuery):
    """Newest first (id order, keyset paged)."""

    status: Literal["open", "closed", "upcoming", "draft", "all"] | None = Field(
        default=None, description="Default: open for residents, all for staff (drafts too: "
        "residents never see one)")
    area: str | None = Field(default=None, max_length=32, description="Staff: only this subtree")
    lng: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    crs: Literal["wgs84", "gcj02"] | None = Field(
        default=None, description="With lng/lat: gcj02 (WeChat maps) or wgs84 (GPS)")

    @model_validator(mode="after")
    def _point_complete(self) -> PollQuery:
        if (self.lng is None) != (self.lat is None) or (self.lng is not None and not self.crs):
            raise ValueError("lng、lat 与 crs 需同时提供")
        return self


# --- results -----------------------------------------------------------------------------------


class OptionCount(BaseModel):
    id: str
    label: str
    count: int
    share: float = Field(description="count / respondents who answered the question, 0–1")


class ScaleCount(BaseModel):
    value: int
    count: int


class HeldText(BaseModel):
    """A free-text answer the content check held: staff review it, nobody else sees it."""

    id: str = Field(description="The answer's id, for POST …/texts/{id}/release")
    text: str
    is_held: bool


class QuestionResult(BaseModel):
    question_id: int
    position: int
    kind: QuestionKind
    prompt: str
    answered: int = Field(description="Respondents who answered this question")
    options: list[OptionCount] = Field(default_factory=list)
    scale: list[ScaleCount] = Field(default_factory=list)
    average: float | None = None
    texts: list[str] | None = Field(default=None,
                                    description="Staff only, in no meaningful order, at most 100 "
                                    "(the CSV export has all)")
    texts_truncated: bool = False
    held_texts: list[HeldText] | None = Field(
        default=None, description="Staff only: answers held by the content check, not in "
        "`texts` nor in the CSV exports until released (at most 100)")


class AreaResult(BaseModel):
    area_code: str = Field(description="Empty for the merged / unassigned group")
    area_name: str
    respondent_count: int
    is_merged: bool = Field(default=False,
                            description="Anonymous polls: small groups folded together")
    questions: list[QuestionResult]


class PollResults(BaseModel):
    poll_id: int
    title: str
    status: PollStatus
    is_anonymous: bool
    respondent_count: int
    questions: list[QuestionResult]
    by: GroupBy | None = None
    breakdown: list[AreaResult] | None = Field(default=None, description="Staff with ?by=")
    min_group_size: int | None = Field(
        default=None, description="Anonymous polls: areas with fewer respondents are merged")


class ResultsQuery(Input):
    by: GroupBy | None = Field(default=None, description="Staff: results per sub-area")


class ResultsCsvQuery(ResultsQuery):
    view: Literal["summary", "texts", "responses"] = Field(
        default="summary", description="summary: counts; texts: free-text answers; "
        "responses: one row per respondent (named polls only)")
