from tortoise import migrations
from tortoise.migrations import operations as ops
from models.appointments import AppointmentFormat, AppointmentKind, AppointmentStatus
from models.messaging import MessageTopic
from models.providers import FirstAppointment, TagKind
from models.users import Role, new_calendar_secret
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='InsurancePlan',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('payer', fields.CharField(max_length=200)),
            ],
            options={'table': 'insurance_plans', 'app': 'models', 'unique_together': (('payer', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('password_hash', fields.CharField(max_length=255)),
                ('name', fields.CharField(max_length=200)),
                ('role', fields.CharEnumField(description='CLIENT: CLIENT\nPROVIDER: PROVIDER\nSTAFF: STAFF', enum_type=Role, max_length=16)),
                ('timezone', fields.CharField(max_length=64)),
                ('calendar_secret', fields.CharField(default=new_calendar_secret, unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Provider',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='provider', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(db_index=True, max_length=200)),
                ('credentials', fields.CharField(null=True, max_length=100)),
                ('bio', fields.TextField(null=True, unique=False)),
                ('specialties', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('modalities', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('languages', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('licensed_states', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('formats', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('accepting_new_clients', fields.BooleanField(default=False)),
                ('first_appointment', fields.CharEnumField(default=FirstAppointment.INTRO_CALL, description='INTRO_CALL: INTRO_CALL\nSESSION: SESSION', enum_type=FirstAppointment, max_length=16)),
                ('intro_call_minutes', fields.IntField(default=15)),
                ('session_minutes', fields.IntField(default=50)),
                ('timezone', fields.CharField(max_length=64)),
                ('video_platform', fields.CharField(null=True, max_length=100)),
                ('buffer_minutes', fields.IntField(default=0)),
                ('minimum_notice_hours', fields.IntField(default=24)),
                ('booking_horizon_days', fields.IntField(default=60)),
                ('slot_step_minutes', fields.IntField(default=30)),
                ('availability_version', fields.IntField(default=0)),
                ('plans', fields.ManyToManyField('models.InsurancePlan', unique=True, db_constraint=True, through='provider_plans', forward_key='insuranceplan_id', backward_key='providers_id', related_name='providers', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'providers', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Appointment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.ForeignKeyField('models.Provider', source_field='provider_id', db_constraint=True, to_field='id', related_name='appointments', on_delete=OnDelete.CASCADE)),
                ('client', fields.ForeignKeyField('models.User', source_field='client_id', db_constraint=True, to_field='id', related_name='appointments', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='INTRO_CALL: INTRO_CALL\nINTAKE_SESSION: INTAKE_SESSION\nSESSION: SESSION', enum_type=AppointmentKind, max_length=16)),
                ('format', fields.CharEnumField(description='PHONE: PHONE\nVIDEO: VIDEO\nIN_PERSON: IN_PERSON', enum_type=AppointmentFormat, max_length=16)),
                ('status', fields.CharEnumField(default=AppointmentStatus.BOOKED, description='BOOKED: BOOKED\nCANCELLED: CANCELLED\nCOMPLETED: COMPLETED\nNO_SHOW: NO_SHOW', enum_type=AppointmentStatus, max_length=16)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('blocked_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('duration_minutes', fields.IntField()),
                ('office_label', fields.CharField(null=True, max_length=100)),
                ('office_address', fields.CharField(null=True, max_length=300)),
                ('office_state', fields.CharField(null=True, max_length=2)),
                ('join_info', fields.TextField(null=True, unique=False)),
                ('series_id', fields.CharField(null=True, db_index=True, max_length=36)),
                ('idempotency_key', fields.CharField(null=True, max_length=200)),
                ('cancelled_by', fields.ForeignKeyField('models.User', source_field='cancelled_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('cancel_reason', fields.CharField(null=True, max_length=1000)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancelled_late', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'appointments', 'app': 'models', 'unique_together': (('client', 'idempotency_key'),), 'indexes': [Index(fields=['provider_id', 'status', 'starts_at']), Index(fields=['client_id', 'starts_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AvailabilityWindow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.ForeignKeyField('models.Provider', source_field='provider_id', db_constraint=True, to_field='id', related_name='windows', on_delete=OnDelete.CASCADE)),
                ('weekday', fields.IntField()),
                ('start_minute', fields.IntField()),
                ('end_minute', fields.IntField()),
                ('formats', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'availability_windows', 'app': 'models', 'pk_attr': 'id', 'table_description': "Weekly hours as local wall-clock minutes in the provider's zone."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MessageThread',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('models.User', source_field='client_id', db_constraint=True, to_field='id', related_name='client_threads', on_delete=OnDelete.CASCADE)),
                ('provider', fields.ForeignKeyField('models.Provider', source_field='provider_id', db_constraint=True, to_field='id', related_name='threads', on_delete=OnDelete.CASCADE)),
                ('last_seq', fields.IntField(default=0)),
                ('client_read_seq', fields.IntField(default=0)),
                ('provider_read_seq', fields.IntField(default=0)),
                ('last_activity_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'message_threads', 'app': 'models', 'unique_together': (('client', 'provider'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Message',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('thread', fields.ForeignKeyField('models.MessageThread', source_field='thread_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('sender', fields.ForeignKeyField('models.User', source_field='sender_id', db_constraint=True, to_field='id', related_name='messages_sent', on_delete=OnDelete.CASCADE)),
                ('body', fields.TextField(unique=False)),
                ('topic', fields.CharEnumField(null=True, description='APPOINTMENT_CHANGE: APPOINTMENT_CHANGE\nFOLLOW_UP: FOLLOW_UP\nCLINICAL: CLINICAL\nBILLING_CODING: BILLING_CODING\nSERVICES: SERVICES\nOTHER: OTHER', enum_type=MessageTopic, max_length=32)),
                ('client_message_id', fields.CharField(null=True, max_length=200)),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'messages', 'app': 'models', 'unique_together': (('thread', 'seq'), ('sender', 'client_message_id')), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Office',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.ForeignKeyField('models.Provider', source_field='provider_id', db_constraint=True, to_field='id', related_name='offices', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField(default=0)),
                ('label', fields.CharField(max_length=100)),
                ('address', fields.CharField(max_length=300)),
                ('state', fields.CharField(max_length=2)),
            ],
            options={'table': 'offices', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProviderTag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.ForeignKeyField('models.Provider', source_field='provider_id', db_constraint=True, to_field='id', related_name='tags', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='STATE: state\nSPECIALTY: specialty\nMODALITY: modality\nLANGUAGE: language\nFORMAT: format', enum_type=TagKind, max_length=16)),
                ('value', fields.CharField(max_length=100)),
                ('folded', fields.CharField(max_length=100)),
            ],
            options={'table': 'provider_tags', 'app': 'models', 'unique_together': (('provider', 'kind', 'folded'),), 'indexes': [Index(fields=['kind', 'folded'])], 'pk_attr': 'id', 'table_description': "One searchable value of a provider's lists, e.g. (state, NY)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sessions', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One signed-in token, which ends at once when its row is revoked.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TimeOff',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.ForeignKeyField('models.Provider', source_field='provider_id', db_constraint=True, to_field='id', related_name='time_off', on_delete=OnDelete.CASCADE)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('reason', fields.CharField(null=True, max_length=500)),
            ],
            options={'table': 'time_off', 'app': 'models', 'indexes': [Index(fields=['provider_id', 'ends_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
