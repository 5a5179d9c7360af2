"""The directory: providers, what they accept, where and when they work."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class FirstAppointment(StrEnum):
    INTRO_CALL = "INTRO_CALL"
    SESSION = "SESSION"


class TagKind(StrEnum):
    STATE = "state"
    SPECIALTY = "specialty"
    MODALITY = "modality"
    LANGUAGE = "language"
    FORMAT = "format"


class InsurancePlan(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    payer = fields.CharField(max_length=200)

    class Meta:
        table = "insurance_plans"
        unique_together = (("payer", "name"),)


class Provider(Model):
    id = fields.IntField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="provider")
    name = fields.CharField(max_length=200, db_index=True)
    credentials = fields.CharField(max_length=100, null=True)
    bio = fields.TextField(null=True)
    # Read copies of the lists; ProviderTag rows are what filters search.
    specialties = fields.JSONField(default=list)
    modalities = fields.JSONField(default=list)
    languages = fields.JSONField(default=list)
    licensed_states = fields.JSONField(default=list)
    formats = fields.JSONField(default=list)
    accepting_new_clients = fields.BooleanField(default=False)
    first_appointment = fields.CharEnumField(
        FirstAppointment, max_length=16, default=FirstAppointment.INTRO_CALL
    )
    intro_call_minutes = fields.IntField(default=15)
    session_minutes = fields.IntField(default=50)
    timezone = fields.CharField(max_length=64)
    video_platform = fields.CharField(max_length=100, null=True)
    buffer_minutes = fields.IntField(default=0)
    minimum_notice_hours = fields.IntField(default=24)
    booking_horizon_days = fields.IntField(default=60)
    slot_step_minutes = fields.IntField(default=30)
    # Bumped on every change that can move open times; caches key on it.
    availability_version = fields.IntField(default=0)
    plans = fields.ManyToManyField(
        "models.InsurancePlan", related_name="providers", through="provider_plans"
    )

    class Meta:
        table = "providers"


class ProviderTag(Model):
    """One searchable value of a provider's lists, e.g. (state, NY)."""

    id = fields.IntField(primary_key=True)
    provider = fields.ForeignKeyField("models.Provider", related_name="tags")
    kind = fields.CharEnumField(TagKind, max_length=16)
    value = fields.CharField(max_length=100)
    folded = fields.CharField(max_length=100)

    class Meta:
        table = "provider_tags"
        unique_together = (("provider", "kind", "folded"),)
        # Covering: a filter reads provider ids straight from the index.
        indexes = (("kind", "folded", "provider_id"),)


class Office(Model):
    id = fields.IntField(primary_key=True)
    provider = fields.ForeignKeyField("models.Provider", related_name="offices")
    position = fields.IntField(default=0)
    label = fields.CharField(max_length=100)
    address = fields.CharField(max_length=300)
    state = fields.CharField(max_length=2)

    class Meta:
        table = "offices"
        # PostgreSQL does not index foreign keys by itself.
        indexes = (("provider_id", "position"),)


class AvailabilityWindow(Model):
    """Weekly hours as local wall-clock minutes in the provider's zone."""

    id = fields.IntField(primary_key=True)
    provider = fields.ForeignKeyField("models.Provider", related_name="windows")
    weekday = fields.IntField()
    start_minute = fields.IntField()
    end_minute = fields.IntField()
    formats = fields.JSONField(null=True)

    class Meta:
        table = "availability_windows"
        indexes = (("provider_id", "weekday"),)


class TimeOff(Model):
    id = fields.IntField(primary_key=True)
    provider = fields.ForeignKeyField("models.Provider", related_name="time_off")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    reason = fields.CharField(max_length=500, null=True)

    class Meta:
        table = "time_off"
        indexes = (("provider_id", "ends_at"),)
