"""Roles and scopes: what a user may reach, and how staff are named to residents.

Pure: no queries. `scope_of` reads grants the caller has already loaded (the authenticated
user always has them, with their areas' paths). Every domain's permission checks start here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the models import this module (Role), so only for type checking
    from app.accounts.models import User


class Role(StrEnum):
    RESIDENT = "resident"
    GRID_WORKER = "grid_worker"
    HANDLER = "handler"
    COMMUNITY_STAFF = "community_staff"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"
    SUPERVISOR = "supervisor"  # 巡查督办员: raises 督办 on open tickets in their area


STAFF_ROLES = frozenset(Role) - {Role.RESIDENT}

ROLE_LABELS = {
    Role.RESIDENT: "居民",
    Role.GRID_WORKER: "网格员",
    Role.HANDLER: "处置人员",
    Role.COMMUNITY_STAFF: "社区工作人员",
    Role.DISPATCHER: "派遣员",
    Role.ADMIN: "管理员",
    Role.SUPERVISOR: "巡查督办员",
}


@dataclass(frozen=True)
class Scope:
    """What a user may reach: area subtrees (materialised paths) and units, per role."""

    roles: frozenset[Role]
    area_paths: dict[Role, tuple[str, ...]] = field(default_factory=dict)
    unit_ids: dict[Role, tuple[int, ...]] = field(default_factory=dict)

    # Loops rather than generators: a list page asks these of every row.
    def has(self, *roles: Role) -> bool:
        for role in roles:
            if role in self.roles:
                return True
        return False

    def covers(self, path: str, *roles: Role) -> bool:
        """Whether one of `roles` is granted on an area subtree that contains `path`."""
        for role in roles:
            prefixes = self.area_paths.get(role)
            if prefixes and path.startswith(prefixes):  # a tuple: any of them
                return True
        return False

    def is_city_wide(self, *roles: Role) -> bool:
        """One of `roles` is held on the whole city (a grant without an area, or the root)."""
        return self.covers("/", *roles)

    def paths(self, *roles: Role) -> list[str]:
        return sorted({p for role in roles for p in self.area_paths.get(role, ())})


def scope_of(user: User) -> Scope:
    """The user's scope from their (prefetched) grants; WeChat users are residents."""
    roles: set[Role] = {Role.RESIDENT} if user.openid else set()
    paths: dict[Role, list[str]] = {}
    units: dict[Role, list[int]] = {}
    for grant in user.grants:  # type: ignore[attr-defined]
        roles.add(grant.role)
        if grant.area_id is not None:
            paths.setdefault(grant.role, []).append(grant.area.path)
        elif grant.role == Role.ADMIN:
            paths.setdefault(grant.role, []).append("/")  # a city-wide admin
        if grant.unit_id is not None:
            units.setdefault(grant.role, []).append(grant.unit_id)
    return Scope(
        roles=frozenset(roles),
        area_paths={r: tuple(p) for r, p in paths.items()},
        unit_ids={r: tuple(u) for r, u in units.items()},
    )


def staff_label(user: User, role: str) -> str:
    """How staff appear to residents: role + surname only (e.g. 网格员 王)."""
    return f"{ROLE_LABELS.get(Role(role), '工作人员')} {user.surname}".strip()
