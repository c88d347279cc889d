"""Migration operations of our own, for what Tortoise's do not do.

`AddFilledField` is `AddField` for tables that already hold rows. Tortoise adds a NOT NULL
column without a database default: SQLite then refuses the migration ("Cannot add a NOT
NULL column with default value NULL") as soon as the table has a row, and MariaDB fills
the type's zero value, an empty string that is no member of an enum column (every page
that reads such a row then fails). This operation adds the column with the field's own
Python default as its database default, so existing rows get the value new rows get. The
migration state is AddField's, unchanged: the models need no `db_default`, and
`check-migrations` compares them as before. tests/core/test_migrations.py makes every
AddField of the project one of these.
"""

from __future__ import annotations

from typing import Any

from tortoise.migrations import operations as ops


class AddFilledField(ops.AddField):
    async def database_forward(self, app_label: str, old_state: Any, new_state: Any,
                               state_editor: Any = None) -> None:
        if not state_editor:
            return
        field = new_state.apps.get_model(f"{app_label}.{self.model_name}")._meta.fields_map[
            self.name]
        fill = not field.null and not field.has_db_default() and field.default is not None \
            and not callable(field.default)
        if not fill:
            await super().database_forward(app_label, old_state, new_state, state_editor)
            return
        unset = field.db_default
        field.db_default = field.default
        try:
            await super().database_forward(app_label, old_state, new_state, state_editor)
        finally:
            field.db_default = unset
