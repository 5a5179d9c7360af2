"""Appointments between a client and a provider."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class AppointmentKind(StrEnum):
    INTRO_CALL = "INTRO_CALL"
    INTAKE_SESSION = "INTAKE_SESSION"
    SESSION = "SESSION"


class AppointmentFormat(StrEnum):
    PHONE = "PHONE"
    VIDEO = "VIDEO"
    IN_PERSON = "IN_PERSON"


class AppointmentStatus(StrEnum):
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    NO_SHOW = "NO_SHOW"


class Appointment(Model):
    id = fields.IntField(primary_key=True)
    provider = fields.ForeignKeyField("models.Provider", related_name="appointments")
    client = fields.ForeignKeyField("models.User", related_name="appointments")
    kind = fields.CharEnumField(AppointmentKind, max_length=16)
    format = fields.CharEnumField(AppointmentFormat, max_length=16)
    status = fields.CharEnumField(
        AppointmentStatus, max_length=16, default=AppointmentStatus.BOOKED
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    # ends_at plus the provider's buffer at the time it was booked: the span
    # the appointment keeps others out of.
    blocked_until = fields.DatetimeField()
    duration_minutes = fields.IntField()
    office_label = fields.CharField(max_length=100, null=True)
    office_address = fields.CharField(max_length=300, null=True)
    office_state = fields.CharField(max_length=2, null=True)
    join_info = fields.TextField(null=True)
    series_id = fields.CharField(max_length=36, null=True, db_index=True)
    idempotency_key = fields.CharField(max_length=200, null=True)
    cancelled_by = fields.ForeignKeyField("models.User", related_name=False, null=True)
    cancel_reason = fields.CharField(max_length=1000, null=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancelled_late = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Times it was moved or cancelled: the calendar feed's SEQUENCE, which
    # calendar apps compare to tell a changed event from a stale copy.
    revision = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "appointments"
        unique_together = (("client", "idempotency_key"),)
        indexes = (
            ("provider_id", "status", "starts_at"),
            ("client_id", "starts_at"),
        )
