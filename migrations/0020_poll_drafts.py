from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from app.core.migration_ops import AddFilledField


async def fill_empty_enums(apps: object, editor: object) -> None:
    """Before AddFilledField, MariaDB gave the rows of a table it extended an empty string
    in tickets.level (0013) and media.check (0009): no member of either enum, so every page
    reading such a row failed. They get the defaults new rows get. (SQLite refused those
    migrations on a table with rows: nothing to mend there.)"""
    client = editor.client  # type: ignore[attr-defined]
    mysql = client.capabilities.dialect == "mysql"
    await client.execute_script("UPDATE tickets SET level = 'grid' WHERE level = ''")
    await client.execute_script(  # CHECK is a reserved word: quoted per dialect
        "UPDATE media SET `check` = 'passed' WHERE `check` = ''" if mysql
        else 'UPDATE media SET "check" = \'passed\' WHERE "check" = \'\'')


class Migration(migrations.Migration):
    dependencies = [('models', '0019_monthly_rollups')]

    initial = False

    operations = [
        AddFilledField(
            model_name='Poll',
            name='is_draft',
            field=fields.BooleanField(default=False),
        ),
        ops.RunPython(fill_empty_enums, ops.RunPython.noop),
    ]
