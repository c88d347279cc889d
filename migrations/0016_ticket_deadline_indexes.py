from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0015_hotline_forward')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Ticket',
            index=Index(fields=['status', 'deadline_at', 'area_path']),
        ),
        ops.AddIndex(
            model_name='Ticket',
            index=Index(fields=['status', 'closed_at']),
        ),
    ]
