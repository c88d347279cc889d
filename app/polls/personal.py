"""What polls hold about a person, for the export (app/accounts/personal.py).

A ballot names its voter; in an anonymous poll nothing joins it to the answers, so only the
fact of voting is exported. In a named poll the answers are the person's and are exported too.
"""

from __future__ import annotations

from typing import Any

from app.accounts.personal import Holder
from app.polls.models import PollAnswer, PollBallot


async def _ballots(user_id: int) -> list[dict[str, Any]]:
    ballots = await PollBallot.filter(user_id=user_id).select_related("poll").order_by("id")
    out: list[dict[str, Any]] = []
    for ballot in ballots:
        row: dict[str, Any] = {"poll_id": ballot.poll_id, "poll_title": ballot.poll.title,
                               "is_anonymous": ballot.poll.is_anonymous,
                               "voted_at": ballot.created_at}
        if not ballot.poll.is_anonymous:
            row["answers"] = [dict(a) for a in await PollAnswer.filter(ballot_id=ballot.id)
                              .order_by("question_id").values(
                                  "question_id", "choice_mask", "scale_value", "text")]
        out.append(row)
    return out


HOLDERS = (Holder("poll_ballots", _ballots,
                  retention="投票记录随议题保存（防止重复投票）；注销后不再关联到您"),)
