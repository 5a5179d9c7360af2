"""The signed-in person: sign-up, log-in, and what `viewer` shows them."""

from datetime import datetime
from typing import Annotated

import strawberry

import models
from resolvers import auth
from resolvers.appointments import (
    appointments_in,
    list_appointments,
    viewer_appointments_query,
)
from resolvers.threads import list_threads, viewer_threads_query
from schema.context import Info
from schema.inputs import SignUpInput
from schema.pagination import Connection, connection
from schema.types import (
    Appointment,
    AppointmentStatus,
    AuthPayload,
    MessageThread,
    Provider,
    User,
)
from resolvers.calendar_feed import calendar_url
from subscriptions.sessions import announce_revoked


@strawberry.type
class Viewer:
    row: strawberry.Private[models.User]

    @strawberry.field
    def user(self) -> User:
        return User.from_row(self.row)

    @strawberry.field(description="When the viewer is a provider.")
    async def provider(self, info: Info) -> Provider | None:
        if self.row.role != models.Role.PROVIDER:
            return None
        row = await info.context.loaders.provider_by_user_id.load(self.row.id)
        return Provider.from_row(row) if row else None

    @strawberry.field(
        description="Every status unless `status` is given; soonest first."
    )
    async def appointments(
        self,
        info: Info,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        status: AppointmentStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Appointment]:
        base = await viewer_appointments_query(info.context)
        query = appointments_in(base, from_, to, status)
        rows, cursors, more = await list_appointments(query, first, after)
        nodes = [Appointment.from_row(row) for row in rows]
        return connection(nodes, cursors, has_next=more, has_previous=bool(after))

    @strawberry.field(description="Newest activity first.")
    async def threads(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[MessageThread]:
        query = await viewer_threads_query(info.context)
        rows, cursors, more = await list_threads(query, first, after)
        nodes = [MessageThread.from_row(row) for row in rows]
        return connection(nodes, cursors, has_next=more, has_previous=bool(after))

    @strawberry.field(
        description="Private iCalendar feed of the viewer's appointments."
    )
    def calendar_url(self) -> str:
        return calendar_url(self.row.calendar_secret)


@strawberry.type
class AuthQuery:
    @strawberry.field(description="Null when not signed in.")
    def viewer(self, info: Info) -> Viewer | None:
        viewer = info.context.viewer
        return Viewer(row=viewer) if viewer else None


@strawberry.type
class AuthMutation:
    @strawberry.mutation(
        description="Role CLIENT or PROVIDER; a duplicate email is CONFLICT."
    )
    async def sign_up(self, info: Info, input: SignUpInput) -> AuthPayload:
        from resolvers.throttles import check_sign_up

        await check_sign_up(info.context)
        user, token = await auth.sign_up(
            input.email, input.password, input.name, input.role, input.timezone
        )
        # The caller's own viewer stays as it was: on a websocket the context
        # outlives this operation, and the socket was never authenticated as
        # this account (its revocation would not reach it).
        return AuthPayload(token=token, user=User.from_row(user, own=True))

    @strawberry.mutation(description="Wrong credentials are UNAUTHENTICATED.")
    async def log_in(self, info: Info, email: str, password: str) -> AuthPayload:
        from resolvers.throttles import check_login

        await check_login(info.context, email)
        user, token = await auth.log_in(email, password)
        return AuthPayload(token=token, user=User.from_row(user, own=True))

    @strawberry.mutation(description="The token stops working at once.")
    async def log_out(self, info: Info) -> bool:
        info.context.require_viewer()
        await auth.log_out(info.context.session_id)
        await announce_revoked(info.context.session_id)
        return True
