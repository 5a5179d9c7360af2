"""Appointment queries and the mutations that book and cancel them."""

import strawberry

import models
from resolvers import appointments
from schema.context import Info
from schema.errors import Forbidden
from schema.ids import parse_int_id
from schema.inputs import AppointmentFilter, BookAppointmentInput
from schema.pagination import Connection, connection
from schema.types import Appointment, CancelScope


@strawberry.type
class AppointmentQuery:
    @strawberry.field(description="Participants and staff; null if it does not exist.")
    async def appointment(self, info: Info, id: strawberry.ID) -> Appointment | None:
        row = await appointments.find_appointment(info.context, id)
        return Appointment.from_row(row) if row else None

    @strawberry.field(description="Staff only: every appointment, soonest first.")
    async def appointments(
        self,
        info: Info,
        filter: AppointmentFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Appointment]:
        info.context.require_viewer()
        if not info.context.is_staff:
            raise Forbidden("Only staff can list every appointment.")
        query = models.Appointment.all()
        if filter is not None:
            if filter.provider_id is not None:
                key = parse_int_id(filter.provider_id, "Provider")
                query = query.filter(provider_id=key if key is not None else -1)
            if filter.client_id is not None:
                key = parse_int_id(filter.client_id, "User")
                query = query.filter(client_id=key if key is not None else -1)
            query = appointments.appointments_in(
                query, filter.from_, filter.to, filter.status
            )
        rows, cursors, more = await appointments.list_appointments(query, first, after)
        nodes = [Appointment.from_row(row) for row in rows]
        return connection(nodes, cursors, has_next=more, has_previous=bool(after))


@strawberry.type
class AppointmentMutation:
    @strawberry.mutation(
        description=(
            "Book Now: a client's first appointment with a provider, at a time "
            "availableSlots offers."
        )
    )
    async def book_appointment(
        self, info: Info, input: BookAppointmentInput
    ) -> Appointment:
        row = await appointments.book_appointment(
            info.context,
            input.provider_id,
            input.starts_at,
            input.format,
            input.office_label,
            input.idempotency_key,
        )
        return Appointment.from_row(row)

    @strawberry.mutation(
        description=(
            "Client, provider or staff. Less than 24 hours ahead is marked late; "
            "cancelling a cancelled appointment changes nothing."
        )
    )
    async def cancel_appointment(
        self,
        info: Info,
        id: strawberry.ID,
        reason: str | None = None,
        scope: CancelScope | None = CancelScope.THIS,
    ) -> list[Appointment]:
        rows = await appointments.cancel_appointment(
            info.context, id, reason, scope == CancelScope.THIS_AND_FOLLOWING
        )
        return [Appointment.from_row(row) for row in rows]
