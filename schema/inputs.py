"""Input types of the public contract (API.md)."""

from datetime import datetime

import strawberry

from schema.types import (
    AppointmentFormat,
    AppointmentKind,
    AppointmentStatus,
    FirstAppointment,
    Frequency,
    MessageTopic,
    Role,
)


@strawberry.input
class SignUpInput:
    email: str
    password: str = strawberry.field(description="At least 8 characters.")
    name: str
    role: Role = strawberry.field(description="CLIENT or PROVIDER; never STAFF.")
    timezone: str = strawberry.field(description="IANA name, e.g. America/New_York.")


@strawberry.input
class ProviderFilter:
    state: str | None = strawberry.field(
        default=None, description="Licensed in this two-letter state."
    )
    insurance_plan_id: strawberry.ID | None = None
    specialty: str | None = None
    modality: str | None = None
    language: str | None = None
    format: AppointmentFormat | None = None
    accepting_new_clients: bool | None = None
    available_from: datetime | None = strawberry.field(
        default=None,
        description="With availableTo: has a bookable slot in [from, to).",
    )
    available_to: datetime | None = None
    search: str | None = strawberry.field(
        default=None, description="Name, specialty or modality words."
    )


@strawberry.input
class AppointmentFilter:
    provider_id: strawberry.ID | None = None
    client_id: strawberry.ID | None = None
    status: AppointmentStatus | None = None
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = None


@strawberry.input
class OfficeInput:
    label: str
    address: str
    state: str


@strawberry.input(description="Every field optional: what is given changes.")
class ProviderProfileInput:
    name: str | None = strawberry.UNSET
    credentials: str | None = strawberry.UNSET
    bio: str | None = strawberry.UNSET
    specialties: list[str] | None = strawberry.UNSET
    modalities: list[str] | None = strawberry.UNSET
    languages: list[str] | None = strawberry.UNSET
    licensed_states: list[str] | None = strawberry.UNSET
    insurance_plan_ids: list[strawberry.ID] | None = strawberry.UNSET
    accepting_new_clients: bool | None = strawberry.UNSET
    formats: list[AppointmentFormat] | None = strawberry.UNSET
    first_appointment: FirstAppointment | None = strawberry.UNSET
    intro_call_minutes: int | None = strawberry.UNSET
    session_minutes: int | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
    offices: list[OfficeInput] | None = strawberry.UNSET
    video_platform: str | None = strawberry.UNSET
    buffer_minutes: int | None = strawberry.UNSET
    minimum_notice_hours: int | None = strawberry.UNSET
    booking_horizon_days: int | None = strawberry.UNSET
    slot_step_minutes: int | None = strawberry.UNSET


@strawberry.input
class AvailabilityWindowInput:
    weekday: int = strawberry.field(
        description="1 = Monday … 7 = Sunday, in the provider's time zone."
    )
    start: str = strawberry.field(description='Local wall-clock time, "09:00".')
    end: str = strawberry.field(
        description='After start; "24:00" means midnight at the day\'s end.'
    )
    formats: list[AppointmentFormat] | None = None


@strawberry.input
class BookAppointmentInput:
    provider_id: strawberry.ID
    starts_at: datetime
    format: AppointmentFormat = strawberry.field(
        description="PHONE for an intro call; one of the provider's formats otherwise."
    )
    office_label: str | None = strawberry.field(
        default=None, description="IN_PERSON: which office (default: the first)."
    )
    idempotency_key: str | None = None


@strawberry.input(
    description=(
        "Exactly one of count and until (inclusive); at most 52 occurrences. "
        "MONTHLY keeps the weekday and its ordinal (the 2nd Tuesday)."
    )
)
class RecurrenceInput:
    frequency: Frequency
    count: int | None = None
    until: datetime | None = None


@strawberry.input
class ScheduleAppointmentInput:
    client_id: strawberry.ID
    kind: AppointmentKind = AppointmentKind.SESSION
    starts_at: datetime
    duration_minutes: int | None = None
    format: AppointmentFormat
    recurrence: RecurrenceInput | None = None
    office_label: str | None = strawberry.field(
        default=None, description="IN_PERSON: which office (default: the first)."
    )


@strawberry.input
class SendMessageInput:
    thread_id: strawberry.ID
    body: str = strawberry.field(description="1 to 5,000 characters after trimming.")
    topic: MessageTopic | None = None
    client_message_id: str | None = strawberry.field(
        default=None, description="Retries with the same value store one message."
    )
