"""Polls (民意调查), their questions, who voted (ballots) and what was answered (answers).

Who voted and what was answered are kept apart: a `PollBallot` names the voter and exists so
that the database refuses a second vote (UNIQUE poll + user); a `PollAnswer` carries the
answer. In an anonymous poll nothing joins the two (see `PollAnswer`).
"""

from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model

# The enums are the rules' words (pure, in rules.py); the columns below store them.
from app.polls.rules import QuestionKind, ResultsVisibility


class Poll(Model):
    id = fields.IntField(primary_key=True)
    area: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Area", related_name=False, on_delete=fields.RESTRICT)
    area_id: int
    # The target subtree's materialised path, copied: eligibility and scope are prefix checks.
    area_path = fields.CharField(max_length=255, db_index=True)
    title = fields.CharField(max_length=100)
    description = fields.TextField()
    opens_at = fields.DatetimeField()
    closes_at = fields.DatetimeField()  # moved to the closing time when staff close early
    # An early close says who and why: residents see the reason, the record keeps the person.
    closed_early_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    closed_early_by_id: int | None
    close_reason = fields.CharField(max_length=255, default="")
    is_anonymous = fields.BooleanField(default=True)
    # 草稿: only its area's staff see it; publishing opens it to residents and queues the
    # "poll opened" notice (`service.publish_poll`). Set once, from True to False.
    is_draft = fields.BooleanField(default=False)
    results_visibility = fields.CharEnumField(ResultsVisibility, max_length=16,
                                              default=ResultsVisibility.AFTER_CLOSE)
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    created_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    # When the "poll closed" notice to its voters was queued (or found not due: staff-only
    # results); NULL until then, which is how the periodic job finds closed polls to announce.
    closing_announced_at = fields.DatetimeField(null=True)

    class Meta:
        table = "polls"
        indexes = (("closing_announced_at", "closes_at"),)


class PollQuestion(Model):
    id = fields.IntField(primary_key=True)
    poll: fields.ForeignKeyRelation[Poll] = fields.ForeignKeyField(
        "models.Poll", related_name="questions", on_delete=fields.CASCADE)
    poll_id: int
    position = fields.IntField()
    kind = fields.CharEnumField(QuestionKind, max_length=16)
    prompt = fields.CharField(max_length=500)
    # [{"id": "a", "label": "满意"}, ...] for single/multiple; ids are stable strings.
    options: fields.JSONField[list[dict[str, str]]] = fields.JSONField(default=list)
    min_choices = fields.IntField(null=True)  # multiple only
    max_choices = fields.IntField(null=True)  # multiple only
    max_length = fields.IntField(null=True)  # text only, in characters
    required = fields.BooleanField(default=True)

    class Meta:
        table = "poll_questions"
        unique_together = (("poll", "position"),)


class PollBallot(Model):
    """Who voted in a poll (not what): the unique constraint makes a second vote impossible."""

    id = fields.IntField(primary_key=True)
    poll: fields.ForeignKeyRelation[Poll] = fields.ForeignKeyField(
        "models.Poll", related_name="ballots", on_delete=fields.CASCADE)
    poll_id: int
    # SET NULL, not CASCADE: erasing an account (PIPL) keeps "someone voted", so the respondent
    # count still matches the answers, and drops the link to the person.
    user: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    user_id: int | None
    area_path = fields.CharField(max_length=255)  # the voter's home area when they voted
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "poll_ballots"
        unique_together = (("poll", "user"),)
        indexes = (("poll_id", "area_path"),)  # respondents per area: an index-only scan


class PollAnswer(Model):
    """One respondent's answer to one question (all chosen options in one row).

    Anonymous polls: `ballot` is NULL and there is deliberately no timestamp and no ordered id.
    Ballots record who voted and when; an answer's insertion time or an auto-increment id would
    line answers up with ballots and so re-identify the voter. The id is a random UUID, so
    ordering by it (as free-text lists do) says nothing about who answered first.
    """

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    poll: fields.ForeignKeyRelation[Poll] = fields.ForeignKeyField(
        "models.Poll", related_name=False, on_delete=fields.CASCADE)
    poll_id: int
    question: fields.ForeignKeyRelation[PollQuestion] = fields.ForeignKeyField(
        "models.PollQuestion", related_name=False, on_delete=fields.CASCADE)
    question_id: int
    # Named polls only: who answered what is the point of a named poll.
    ballot: fields.ForeignKeyNullableRelation[PollBallot] = fields.ForeignKeyField(
        "models.PollBallot", related_name="answers", null=True, on_delete=fields.CASCADE)
    ballot_id: int | None
    # The chosen options as a bit set over the question's option list (bit i = options[i];
    # at most 30 options, so it fits an INT). One row per respondent and question lets results
    # count respondents per question (the shares of a multiple-choice question) without linking
    # an anonymous respondent's rows together, and an integer keeps the results' GROUP BY an
    # index-only scan. Options never change once a poll exists (there is no edit), so a bit
    # names the same option for good.
    choice_mask = fields.IntField(null=True)
    scale_value = fields.SmallIntField(null=True)
    text = fields.TextField(null=True)
    # The text failed the content check: the answer counts, the text stays out of results and
    # exports until staff release it (they see it, marked, in the staff results).
    text_held = fields.BooleanField(default=False)
    area_path = fields.CharField(max_length=255)  # for results per sub-area

    class Meta:
        table = "poll_answers"
        # Covers the results query: GROUP BY question, choice, scale value, area for one poll.
        indexes = (("poll_id", "question_id", "choice_mask", "scale_value", "area_path"),)
