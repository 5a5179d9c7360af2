"""GraphQL object types. They wrap rows; resolvers hold the rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated, Any

import strawberry

import models
from resolvers import visibility
from resolvers.availability import Calendar, load_calendar, offer_for
from resolvers.availability_engine import OpenSlot
from resolvers.loaders import MISSING, loaded
from schema.context import Info
from schema.errors import BadUserInput
from schema.ids import to_global_id
from schema.pagination import Connection
from web.directory_cache import recorder

Role = strawberry.enum(models.Role)
AppointmentKind = strawberry.enum(models.AppointmentKind)
AppointmentFormat = strawberry.enum(models.AppointmentFormat)
AppointmentStatus = strawberry.enum(models.AppointmentStatus)
FirstAppointment = strawberry.enum(models.FirstAppointment)
MessageTopic = strawberry.enum(models.MessageTopic)

# An availableSlots range longer than this is refused: a year and a day.
MAX_SLOT_RANGE = timedelta(days=366)


@strawberry.enum
class CancelScope(Enum):
    THIS = "THIS"
    THIS_AND_FOLLOWING = "THIS_AND_FOLLOWING"


@strawberry.enum
class Frequency(Enum):
    WEEKLY = "WEEKLY"
    BIWEEKLY = "BIWEEKLY"
    MONTHLY = "MONTHLY"


@strawberry.enum
class AppointmentEventType(Enum):
    BOOKED = "BOOKED"
    RESCHEDULED = "RESCHEDULED"
    CANCELLED = "CANCELLED"
    UPDATED = "UPDATED"


@strawberry.interface(description="An object with a global id (Relay).")
class Node:
    id: strawberry.ID


@strawberry.type
class User(Node):
    row: strawberry.Private[models.User]
    # Shown to its owner whoever the viewer is: the account logIn or signUp
    # has just handed a token to.
    own: strawberry.Private[bool] = False

    @classmethod
    def from_row(cls, row: models.User, own: bool = False) -> User:
        return cls(id=strawberry.ID(to_global_id("User", row.id)), row=row, own=own)

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="Only to the user themself and to staff.")
    def email(self, info: Info) -> str | None:
        viewer = info.context.viewer
        if self.own or info.context.is_staff:
            return self.row.email
        if viewer is not None and viewer.id == self.row.id:
            return self.row.email
        return None

    @strawberry.field
    def role(self) -> Role:
        return self.row.role

    @strawberry.field
    def timezone(self) -> str:
        return self.row.timezone


@strawberry.type
class InsurancePlan(Node):
    name: str
    payer: str

    @classmethod
    def from_row(cls, row: models.InsurancePlan) -> InsurancePlan:
        return cls(
            id=strawberry.ID(to_global_id("InsurancePlan", row.id)),
            name=row.name,
            payer=row.payer,
        )


@strawberry.type
class Office:
    label: str
    address: str
    state: str


@strawberry.type
class Slot:
    starts_at: datetime
    ends_at: datetime
    formats: list[AppointmentFormat]


def _slot(open_slot: OpenSlot) -> Slot:
    return Slot(
        starts_at=open_slot.starts_at,
        ends_at=open_slot.ends_at,
        formats=[models.AppointmentFormat(f) for f in open_slot.formats],
    )


# The directory loads a page's plans, offices and calendars before its
# fields are read, so these answer at once; elsewhere (a single provider,
# an appointment's) they return an awaitable, which GraphQL awaits.
def _insurance_plans(root: Provider, info: Info) -> list[InsurancePlan]:
    loader = info.context.loaders.plans_by_provider_id
    plans = loaded(loader, root.row.id)
    if plans is MISSING:
        return _later(loader.load(root.row.id), _plans)
    return _plans(plans)


def _plans(rows: list[Any]) -> list[InsurancePlan]:
    return [InsurancePlan.from_row(plan) for plan in rows]


def _offices(root: Provider, info: Info) -> list[Office]:
    loader = info.context.loaders.offices_by_provider_id
    rows = loaded(loader, root.row.id)
    if rows is MISSING:
        return _later(loader.load(root.row.id), _office_list)
    return _office_list(rows)


def _office_list(rows: list[Any]) -> list[Office]:
    return [Office(label=r.label, address=r.address, state=r.state) for r in rows]


async def _later(pending: Awaitable[Any], then: Callable[[Any], Any]) -> Any:
    return then(await pending)


@strawberry.type
class Provider(Node):
    # Plain attributes copied from the row: a field with a resolver costs
    # Strawberry an Info object and argument handling on every read, and one
    # directory page reads hundreds of them.
    row: strawberry.Private[models.Provider]
    name: str
    credentials: str | None = strawberry.field(
        description='Letters after the name: "LCSW", "PsyD", "LMFT".'
    )
    bio: str | None
    specialties: list[str] = strawberry.field(
        description='What they treat: "Anxiety", "Grief".'
    )
    modalities: list[str] = strawberry.field(
        description='How they treat: "CBT", "EMDR".'
    )
    languages: list[str]
    licensed_states: list[str] = strawberry.field(description="Two-letter US states.")
    insurance_plans: list[InsurancePlan] = strawberry.field(resolver=_insurance_plans)
    accepting_new_clients: bool
    formats: list[AppointmentFormat] = strawberry.field(
        description="What sessions they offer: VIDEO, IN_PERSON."
    )
    first_appointment: FirstAppointment
    intro_call_minutes: int
    session_minutes: int
    timezone: str
    offices: list[Office] = strawberry.field(resolver=_offices)
    video_platform: str | None = strawberry.field(
        description='The video platform they chose, e.g. "Zoom".'
    )
    buffer_minutes: int = strawberry.field(
        description="Kept free after each appointment."
    )
    minimum_notice_hours: int = strawberry.field(
        description="No booking closer to now than this."
    )
    booking_horizon_days: int = strawberry.field(
        description="No booking further ahead than this."
    )
    slot_step_minutes: int = strawberry.field(
        description="Open times start every this many minutes."
    )

    @classmethod
    def from_row(cls, row: models.Provider) -> Provider:
        return cls(
            id=strawberry.ID(to_global_id("Provider", row.id)),
            row=row,
            name=row.name,
            credentials=row.credentials,
            bio=row.bio,
            specialties=row.specialties,
            modalities=row.modalities,
            languages=row.languages,
            licensed_states=row.licensed_states,
            accepting_new_clients=row.accepting_new_clients,
            formats=[models.AppointmentFormat(f) for f in row.formats],
            first_appointment=models.FirstAppointment(row.first_appointment),
            intro_call_minutes=row.intro_call_minutes,
            session_minutes=row.session_minutes,
            timezone=row.timezone,
            video_platform=row.video_platform,
            buffer_minutes=row.buffer_minutes,
            minimum_notice_hours=row.minimum_notice_hours,
            booking_horizon_days=row.booking_horizon_days,
            slot_step_minutes=row.slot_step_minutes,
        )

    @strawberry.field(
        description=(
            "Bookable times whose start lies in [from, to), soonest first, for "
            "`kind` (default: the provider's first appointment). At most 366 days."
        )
    )
    async def available_slots(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        kind: AppointmentKind | None = None,
    ) -> list[Slot]:
        if to <= from_:
            raise BadUserInput("expected `to` after `from`")
        if to - from_ > MAX_SLOT_RANGE:
            raise BadUserInput("expected from and to at most 366 days apart")
        calendar = await load_calendar(info.context, self.row)
        offer = offer_for(self.row, kind)
        found = info.context.spend_slot_budget(calendar.slots(offer, from_, to))
        cache = recorder(info.context)
        if cache is not None:
            cache.changes_at(calendar.changes_at(offer, next(iter(found), None), to))
        return [_slot(slot) for slot in found]

    @strawberry.field(
        description="The soonest bookable time for `kind`, or null if none."
    )
    def next_available_slot(
        self, info: Info, kind: AppointmentKind | None = None
    ) -> Slot | None:
        rows = loaded(info.context.loaders.calendar_by_provider_id, self.row.id)
        if rows is MISSING:
            return self._next_slot_later(info, kind)
        return self._next_slot(info, Calendar(self.row, *rows), kind)

    async def _next_slot_later(
        self, info: Info, kind: AppointmentKind | None
    ) -> Slot | None:
        return self._next_slot(info, await load_calendar(info.context, self.row), kind)

    def _next_slot(
        self, info: Info, calendar: Calendar, kind: AppointmentKind | None
    ) -> Slot | None:
        offer = offer_for(self.row, kind)
        found = calendar.next_slot(offer)
        cache = recorder(info.context)
        if cache is not None:
            cache.changes_at(calendar.changes_at(offer, found, None))
        return _slot(found) if found else None


@strawberry.type
class Cancellation:
    row: strawberry.Private[models.Appointment]

    @strawberry.field
    async def cancelled_by(self, info: Info) -> User:
        user = await info.context.loaders.user_by_id.load(self.row.cancelled_by_id)
        return User.from_row(user)

    @strawberry.field
    def reason(self) -> str | None:
        return self.row.cancel_reason

    @strawberry.field
    def cancelled_at(self) -> datetime:
        return self.row.cancelled_at

    @strawberry.field(description="Cancelled less than 24 hours before the start.")
    def late(self) -> bool:
        return self.row.cancelled_late


@strawberry.type
class Appointment(Node):
    row: strawberry.Private[models.Appointment]

    @classmethod
    def from_row(cls, row: models.Appointment) -> Appointment:
        return cls(id=strawberry.ID(to_global_id("Appointment", row.id)), row=row)

    @strawberry.field
    async def provider(self, info: Info) -> Provider:
        row = await info.context.loaders.provider_by_id.load(self.row.provider_id)
        return Provider.from_row(row)

    @strawberry.field
    async def client(self, info: Info) -> User:
        return User.from_row(
            await info.context.loaders.user_by_id.load(self.row.client_id)
        )

    @strawberry.field
    def kind(self) -> AppointmentKind:
        return self.row.kind

    @strawberry.field
    def format(self) -> AppointmentFormat:
        return self.row.format

    @strawberry.field
    def status(self) -> AppointmentStatus:
        return self.row.status

    @strawberry.field
    def starts_at(self) -> datetime:
        return self.row.starts_at

    @strawberry.field
    def ends_at(self) -> datetime:
        return self.row.ends_at

    @strawberry.field
    def duration_minutes(self) -> int:
        return self.row.duration_minutes

    @strawberry.field(
        description=(
            "CPT code implied by kind and length: 90791 for an intake, 90832, "
            "90834 or 90837 for sessions by minutes; null for intro calls."
        )
    )
    def cpt_code(self) -> str | None:
        return cpt_code(self.row.kind, self.row.duration_minutes)

    @strawberry.field(description="Video link or dial-in steps; participants only.")
    async def join_info(self, info: Info) -> str | None:
        if await visibility.is_participant(info.context, self.row):
            return self.row.join_info
        return None

    @strawberry.field(description="Where an in-person session takes place.")
    def office(self) -> Office | None:
        if self.row.office_label is None:
            return None
        return Office(
            label=self.row.office_label,
            address=self.row.office_address or "",
            state=self.row.office_state or "",
        )

    @strawberry.field(description="Set on appointments created as a recurring series.")
    def series_id(self) -> strawberry.ID | None:
        series = self.row.series_id
        return strawberry.ID(to_global_id("Series", series)) if series else None

    @strawberry.field
    def cancellation(self) -> Cancellation | None:
        if self.row.cancelled_at is None:
            return None
        return Cancellation(row=self.row)

    @strawberry.field(description="Null to anyone but the two participants.")
    async def thread(self, info: Info) -> MessageThread | None:
        if not await visibility.is_participant(info.context, self.row):
            return None
        pair = (self.row.client_id, self.row.provider_id)
        row = await info.context.loaders.thread_by_pair.load(pair)
        return MessageThread.from_row(row) if row else None


def cpt_code(kind: models.AppointmentKind, minutes: int) -> str | None:
    """The psychotherapy CPT code for a kind of appointment and its length."""
    if kind == models.AppointmentKind.INTRO_CALL:
        return None
    if kind == models.AppointmentKind.INTAKE_SESSION:
        return "90791"
    if minutes >= 53:
        return "90837"
    if minutes >= 38:
        return "90834"
    if minutes >= 16:
        return "90832"
    return None


@strawberry.type
class Message(Node):
    # The row, or subscriptions.events.StoredMessage: the same attributes,
    # rebuilt from the event that announced it.
    row: strawberry.Private[models.Message]

    @classmethod
    def from_row(cls, row: models.Message) -> Message:
        return cls(id=strawberry.ID(to_global_id("Message", row.id)), row=row)

    @strawberry.field
    def thread_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("MessageThread", self.row.thread_id))

    @strawberry.field
    async def sender(self, info: Info) -> User:
        return User.from_row(
            await info.context.loaders.user_by_id.load(self.row.sender_id)
        )

    @strawberry.field
    def body(self) -> str:
        return self.row.body

    @strawberry.field
    def topic(self) -> MessageTopic | None:
        return self.row.topic

    @strawberry.field
    def sent_at(self) -> datetime:
        return self.row.sent_at

    @strawberry.field
    def client_message_id(self) -> str | None:
        return self.row.client_message_id

    @strawberry.field(
        description="The cursor its edge carries; usable as messageAdded(after:)."
    )
    def cursor(self) -> str:
        return message_cursor(self.row)


def message_cursor(row: models.Message) -> str:
    from schema.pagination import encode_cursor

    return encode_cursor("m", row.thread_id, row.seq)


@strawberry.type
class MessageThread(Node):
    row: strawberry.Private[models.MessageThread]

    @classmethod
    def from_row(cls, row: models.MessageThread) -> MessageThread:
        return cls(id=strawberry.ID(to_global_id("MessageThread", row.id)), row=row)

    @strawberry.field
    async def client(self, info: Info) -> User:
        return User.from_row(
            await info.context.loaders.user_by_id.load(self.row.client_id)
        )

    @strawberry.field
    async def provider(self, info: Info) -> Provider:
        row = await info.context.loaders.provider_by_id.load(self.row.provider_id)
        return Provider.from_row(row)

    @strawberry.field(description="Oldest first; `last`/`before` page backwards.")
    async def messages(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Message]:
        from resolvers.threads import list_messages

        return await list_messages(
            info.context, self.row, first=first, after=after, last=last, before=before
        )

    @strawberry.field
    async def last_message(self, info: Info) -> Message | None:
        if self.row.last_seq == 0:
            return None
        row = await models.Message.filter(
            thread_id=self.row.id, seq=self.row.last_seq
        ).first()
        return Message.from_row(row) if row else None

    @strawberry.field(description="Messages the viewer has not read yet.")
    def unread_count(self, info: Info) -> int:
        viewer = info.context.viewer
        if viewer is None:
            return 0
        read = (
            self.row.client_read_seq
            if viewer.id == self.row.client_id
            else self.row.provider_read_seq
        )
        return max(0, self.row.last_seq - read)


@strawberry.type
class AppointmentEvent:
    type: AppointmentEventType
    appointment: Appointment
    at: datetime


@strawberry.type
class AuthPayload:
    token: str
    user: User
