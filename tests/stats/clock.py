"""A frozen clock for tests that must say *when* each step through the API happens.

Backdating a ticket's columns afterwards (as `tests/stats/test_rollup.py` does) bypasses the
door: the daily rollups it keeps would disagree until `stats rebuild`. To check the rollups the
door keeps, the door itself must see the chosen times, so this clock replaces `datetime` in
every loaded `app.*` module (whatever their names are after a refactor) and Tortoise's
`timezone.now` (auto_now / auto_now_add columns) for the duration of one test.
"""

from __future__ import annotations

import inspect
import sys
from datetime import UTC, datetime, timedelta, tzinfo
from types import ModuleType
from typing import Any

import pytest
from tortoise import timezone as tortoise_timezone


class _AnyDatetime(type):
    # isinstance(x, datetime) in a patched module must still hold for real datetimes.
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, datetime)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, datetime)


class _Frozen(datetime, metaclass=_AnyDatetime):
    """`datetime` whose now() reads the test's clock. Everything it builds (combine,
    fromisoformat ...) is a real datetime, which the database drivers know how to bind."""

    moment: datetime | None = None  # None: the real time (thawed)

    def __new__(cls, *args: Any, **kwargs: Any) -> datetime:  # type: ignore[misc]
        return datetime(*args, **kwargs)

    @classmethod
    def current(cls) -> datetime:
        return cls.moment if cls.moment is not None else datetime.now(UTC)

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        moment = cls.current()
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    @classmethod
    def utcnow(cls) -> datetime:  # type: ignore[override]
        return cls.current().replace(tzinfo=None)


def _asks_now(module: ModuleType) -> bool:
    """Whether the module reads the time (the others keep the real class untouched)."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return False
    return "datetime.now(" in source or "datetime.utcnow(" in source


class Clock:
    """Set with `clock.at(moment)`, move with `clock.advance(minutes=...)`, back to the real
    time with `clock.thaw()` (e.g. while logging people in: their tokens are checked against
    the real time)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name, module in list(sys.modules.items()):
            if ((name == "app" or name.startswith("app."))
                    and getattr(module, "datetime", None) is datetime and _asks_now(module)):
                monkeypatch.setattr(module, "datetime", _Frozen)
        monkeypatch.setattr(tortoise_timezone, "now", _Frozen.current)
        monkeypatch.setattr(_Frozen, "moment", None)

    @property
    def now(self) -> datetime:
        return _Frozen.current()

    def at(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("the clock takes aware datetimes")
        # Whole seconds in UTC: what every database stores alike.
        _Frozen.moment = moment.astimezone(UTC).replace(microsecond=0)
        return _Frozen.moment

    def advance(self, **delta: float) -> datetime:
        return self.at(self.now + timedelta(**delta))

    def thaw(self) -> None:
        _Frozen.moment = None
