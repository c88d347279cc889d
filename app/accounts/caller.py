"""The caller of a request: the active user with what scopes need, in one statement.

Every authenticated request loads its user, its grants with their areas and units, and its
home area. The user's row is read on every call, so a deactivation, a 注销 or any edit of the
row counts at the very next request, in every process. The grants and the areas, which change
a few times a year per person, are kept per process and reused while what the same statement
reads beside the row is unchanged:

* the configuration revision (`config_revisions`): every service that edits areas, units or
  grants bumps it in its transaction, so an area renamed or a unit retired through any process
  counts at once;
* the number of the user's grants and their highest id: grants are inserted and deleted, never
  updated, and ids are not reused, so a grant added or removed by any process, even past the
  services, counts at once;
* this process's configuration generation (`config_cache.invalidate()` after direct writes);
* the row's `home_area_id`.

What is cached is shared between requests: treat the grants and areas as read-only. The user
object itself is new on every call, so a handler may change its fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.query_utils import Prefetch
from tortoise.queryset import QuerySet

from app.accounts.models import RoleGrant, User
from app.areas.models import Area
from app.core import config_cache

# Enough for every member of staff of a district and its busiest residents; past it the
# process starts over (a miss costs the few statements every request used to send).
MAX_ENTRIES = 20_000

# One statement: the row and the three validators. Written once, as SQL both SQLite and
# MySQL/MariaDB read (the placeholder is adapted per dialect at first use).
_SQL = (
    "SELECT u.*,"
    " (SELECT c.revision FROM config_revisions c WHERE c.name = ?) AS caller_config_revision,"
    " (SELECT COUNT(*) FROM role_grants g WHERE g.user_id = u.id) AS caller_grant_count,"
    " (SELECT MAX(g.id) FROM role_grants g WHERE g.user_id = u.id) AS caller_grant_max"
    " FROM users u WHERE u.id = ? AND u.is_active = ?"
)
_VALIDATORS = ("caller_config_revision", "caller_grant_count", "caller_grant_max")


def lean_areas() -> QuerySet[Area]:
    """Areas as scopes and profiles need them: never the polygons (a district's geometry is
    large, and every authenticated request needs its user's areas)."""
    return Area.all().only("id", "code", "name", "kind", "path", "parent_id")


def scope_relations() -> tuple[Prefetch, ...]:
    """What `scope_of` and `user_out` read of a user, for loading other users the same way."""
    return (Prefetch("grants__area", lean_areas()), Prefetch("grants__unit__area", lean_areas()),
            Prefetch("home_area", lean_areas()))


@dataclass(frozen=True, slots=True)
class _Entry:
    key: tuple[Any, ...]
    grants: list[RoleGrant]
    home_area: Area | None


_entries: dict[int, _Entry] = {}
_sql_by_dialect: dict[str, str] = {}


def _sql(dialect: str) -> str:
    sql = _sql_by_dialect.get(dialect)
    if sql is None:
        sql = _SQL.replace("?", "%s") if dialect == "mysql" else _SQL
        _sql_by_dialect[dialect] = sql
    return sql


async def _load_relations(user_id: int, home_area_id: int | None
                          ) -> tuple[list[RoleGrant], Area | None]:
    grants = await RoleGrant.filter(user_id=user_id).order_by("id").prefetch_related(
        Prefetch("area", lean_areas()), Prefetch("unit__area", lean_areas()))
    home = (await lean_areas().filter(id=home_area_id).first()
            if home_area_id is not None else None)
    return list(grants), home


async def active_user(*, user_id: int) -> User | None:
    """The active user with this id, grants (with areas and units) and home area loaded."""
    # Read before the statement: an invalidation while we load leaves an older key behind,
    # so the next call reloads rather than trusting what it cannot vouch for.
    generation = config_cache._revision.generation  # bumped by `config_cache.invalidate()`
    conn = connections.get("default")
    rows = await conn.execute_query_dict(_sql(conn.capabilities.dialect),
                                         [config_cache.NAME, user_id, True])
    if not rows:
        return None
    row = rows[0]
    user = User._init_from_db(**row)
    key = (*(row[name] for name in _VALIDATORS), generation, user.home_area_id)
    entry = _entries.get(user_id)
    if entry is None or entry.key != key:
        # Loaded after the key was read, so never older than it: at worst a change made in
        # between is kept under the older key, and the next call reloads it again.
        grants, home = await _load_relations(user_id, user.home_area_id)
        entry = _Entry(key=key, grants=grants, home_area=home)
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[user_id] = entry
    user.grants._set_result_for_query(list(entry.grants))  # type: ignore[attr-defined]
    # As a prefetch leaves it (the attribute behind `user.home_area`), keeping home_area_id.
    object.__setattr__(user, "_home_area", entry.home_area)
    return user
