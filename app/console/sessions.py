"""Console sessions: sign in, look up with idle timeout, sign out; CSRF tokens.

A database row per session (not a signed stateless cookie) so that signing out, an idle
timeout and a disabled account end the session at once in every process, and a stolen
cookie stops working when its owner signs out (等保 2.0 asks for both).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.console import domain
from app.console.models import ConsoleSession
from app.settings import current

COOKIE = "gz_console"
LOGIN_CSRF_COOKIE = "gz_console_login"
# last_seen_at is written at most this often: not one write per request.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Session:
    row: ConsoleSession
    user: domain.User

    @property
    def csrf_token(self) -> str:
        return self.row.csrf_token


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def sign_in(*, username: str, password: str, ip: str) -> tuple[str, domain.User]:
    """Check the password the API's way (lockout included); returns the new cookie value."""
    user = await domain.authenticate(username=username, password=password, ip=ip)
    if not domain.is_staff(user):
        raise domain.Unauthorized("该账号不能登录工作台", code="not_staff")
    token = secrets.token_urlsafe(32)
    await ConsoleSession.create(token_hash=_hash(token), user_id=user.id,
                                csrf_token=secrets.token_urlsafe(32), ip=ip[:45],
                                last_seen_at=datetime.now(UTC))
    return token, user


async def lookup(*, token: str | None, now: datetime | None = None) -> Session | None:
    """The live session for a cookie value, touched; None when absent, ended, idle or too old."""
    if not token or len(token) > 100:
        return None
    settings = current()
    now = now or datetime.now(UTC)
    row = await ConsoleSession.get_or_none(token_hash=_hash(token), ended_at=None)
    if row is None:
        return None
    idle = now - row.last_seen_at > timedelta(seconds=settings.console_idle_timeout_s)
    too_old = now - row.created_at > timedelta(seconds=settings.console_session_max_s)
    user = None if idle or too_old else await domain.active_user(user_id=row.user_id)
    if user is None:
        await ConsoleSession.filter(id=row.id).update(ended_at=now)
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        await ConsoleSession.filter(id=row.id).update(last_seen_at=now)
    return Session(row=row, user=user)


async def sign_out(*, token: str | None) -> None:
    if token:
        await ConsoleSession.filter(token_hash=_hash(token), ended_at=None).update(
            ended_at=datetime.now(UTC))


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)
