"""The provider's scheduling mutations, and resetting the calendar feed's URL."""

from datetime import datetime

import strawberry

from resolvers import calendar_feed, scheduling
from schema.context import Info
from schema.inputs import ScheduleAppointmentInput
from schema.types import Appointment


@strawberry.type
class SchedulingMutation:
    @strawberry.mutation(
        description=(
            "Providers, with their own clients (anyone who has had an appointment "
            "with them). Not bound by weekly hours, notice, horizon or time off; "
            "a start in the past, or more than two years ahead, is BAD_USER_INPUT. "
            "durationMinutes is 5 to 240 (default: the provider's usual length). "
            "A recurrence runs at the same local time in the provider's time zone, "
            "at most 52 times. If any occurrence collides with a booked "
            "appointment (buffers included) nothing is saved: CONFLICT, with the "
            "colliding start times in extensions.conflicts."
        )
    )
    async def schedule_appointment(
        self, info: Info, input: ScheduleAppointmentInput
    ) -> list[Appointment]:
        recurrence = None
        if input.recurrence is not None:
            recurrence = scheduling.Recurrence(
                frequency=input.recurrence.frequency.value,
                count=input.recurrence.count,
                until=input.recurrence.until,
            )
        request = scheduling.ScheduleRequest(
            client_id=input.client_id,
            kind=input.kind,
            starts_at=input.starts_at,
            duration_minutes=input.duration_minutes,
            format=input.format,
            recurrence=recurrence,
            office_label=input.office_label,
        )
        rows = await scheduling.schedule_appointment(info.context, request)
        return [Appointment.from_row(row) for row in rows]

    @strawberry.mutation(
        description=(
            "The provider moves an appointment that has not started; it keeps its "
            "length and the old time is freed. A collision is CONFLICT and leaves "
            "it as it was. Clients ask their provider in Messages."
        )
    )
    async def reschedule_appointment(
        self, info: Info, id: strawberry.ID, starts_at: datetime
    ) -> Appointment:
        row = await scheduling.reschedule_appointment(info.context, id, starts_at)
        return Appointment.from_row(row)

    @strawberry.mutation(
        description=(
            "The provider's video link or dial-in steps, 1 to 2,000 characters; "
            "only the two participants read it. Not on an appointment that is "
            "cancelled, completed or a no-show (CONFLICT)."
        )
    )
    async def set_join_info(
        self, info: Info, appointment_id: strawberry.ID, join_info: str
    ) -> Appointment:
        row = await scheduling.set_join_info(info.context, appointment_id, join_info)
        return Appointment.from_row(row)

    @strawberry.mutation(description="Provider, once it has ended.")
    async def complete_appointment(self, info: Info, id: strawberry.ID) -> Appointment:
        row = await scheduling.complete_appointment(info.context, id)
        return Appointment.from_row(row)

    @strawberry.mutation(description="Provider, once it has started.")
    async def mark_no_show(self, info: Info, id: strawberry.ID) -> Appointment:
        row = await scheduling.mark_no_show(info.context, id)
        return Appointment.from_row(row)

    @strawberry.mutation(
        description="A new private calendar feed URL; the old one stops working."
    )
    async def reset_calendar_url(self, info: Info) -> str:
        return await calendar_feed.reset_calendar_url(info.context)
