from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from app.accounts.models import Role
from app.areas.models import AreaKind
from app.media.models import MediaPurpose, MediaStatus
from app.units.models import UnitKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Area',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=128)),
                ('kind', fields.CharEnumField(description='DISTRICT: district\nSTREET: street\nCOMMUNITY: community\nGRID: grid', enum_type=AreaKind, max_length=16)),
                ('parent', fields.ForeignKeyField('models.Area', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('path', fields.CharField(db_index=True, max_length=255)),
                ('geometry', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('source_crs', fields.CharField(default='wgs84', max_length=8)),
                ('office_address', fields.CharField(default='', max_length=255)),
                ('office_phone', fields.CharField(default='', max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'areas', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GeometryRevision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('revision', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'geometry_revision', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Bumped in the same transaction as every geometry change, so processes rebuild on a new value.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Unit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=128)),
                ('kind', fields.CharEnumField(description='DEPARTMENT: department\nPROPERTY_COMPANY: property_company\nCOMMUNITY_COMMITTEE: community_committee\nGRID_TEAM: grid_team', enum_type=UnitKind, max_length=32)),
                ('area', fields.ForeignKeyField('models.Area', source_field='area_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'units', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('openid', fields.CharField(null=True, unique=True, max_length=64)),
                ('unionid', fields.CharField(null=True, max_length=64)),
                ('username', fields.CharField(null=True, unique=True, max_length=64)),
                ('password_hash', fields.CharField(null=True, max_length=255)),
                ('display_name', fields.CharField(default='', max_length=64)),
                ('surname', fields.CharField(default='', max_length=16)),
                ('work_phone', fields.CharField(default='', max_length=32)),
                ('home_area', fields.ForeignKeyField('models.Area', source_field='home_area_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'users', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Media',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='REPORT: report\nHANDLING: handling\nRATING: rating\nVERIFICATION: verification\nAVATAR: avatar', enum_type=MediaPurpose, max_length=16)),
                ('status', fields.CharEnumField(default=MediaStatus.PENDING, description='PENDING: pending\nREADY: ready', enum_type=MediaStatus, max_length=16)),
                ('storage', fields.CharField(max_length=8)),
                ('key', fields.CharField(unique=True, max_length=128)),
                ('thumb_key', fields.CharField(null=True, max_length=128)),
                ('mime', fields.CharField(null=True, max_length=32)),
                ('size', fields.IntField(null=True)),
                ('width', fields.IntField(null=True)),
                ('height', fields.IntField(null=True)),
                ('sha256', fields.CharField(null=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('ready_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'media', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='refresh_tokens', on_delete=OnDelete.CASCADE)),
                ('family_id', fields.CharField(db_index=True, max_length=36)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'refresh_tokens', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An opaque refresh token, stored hashed, rotated on every use (reuse revokes the family).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RoleGrant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='grants', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(description='RESIDENT: resident\nGRID_WORKER: grid_worker\nHANDLER: handler\nCOMMUNITY_STAFF: community_staff\nDISPATCHER: dispatcher\nADMIN: admin', enum_type=Role, max_length=32)),
                ('area', fields.ForeignKeyField('models.Area', source_field='area_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'role_grants', 'app': 'models', 'unique_together': (('user', 'role', 'area', 'unit'),), 'pk_attr': 'id', 'table_description': 'One role of one user, scoped to an area subtree (staff) or a unit (handlers).'},
            bases=['Model'],
        ),
    ]
