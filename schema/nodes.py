"""`node(id:)`: every type that implements Node, with its own visibility."""

import strawberry

import models
from resolvers.threads import find_thread
from resolvers.appointments import find_appointment
from resolvers.visibility import is_thread_participant
from schema.context import Context, Info
from schema.errors import Forbidden
from schema.ids import from_global_id, parse_int_id
from schema.types import (
    Appointment,
    InsurancePlan,
    Message,
    MessageThread,
    Node,
    Provider,
    User,
)


async def _user(ctx: Context, key: int) -> User | None:
    row = await models.User.filter(id=key).first()
    if row is None:
        return None
    viewer = ctx.viewer
    if viewer is None:
        raise Forbidden("Log in to see people's profiles.")
    if ctx.is_staff or viewer.id == row.id or await _shares_thread(viewer, row):
        return User.from_row(row)
    raise Forbidden("You can only see people you have appointments with.")


async def _shares_thread(viewer: models.User, other: models.User) -> bool:
    pairs = models.MessageThread.filter(
        client_id__in=[viewer.id, other.id],
        provider__user_id__in=[viewer.id, other.id],
    )
    return await pairs.exists()


async def _message(ctx: Context, key: int) -> Message | None:
    row = await models.Message.filter(id=key).select_related("thread").first()
    if row is None:
        return None
    if not await is_thread_participant(ctx, row.thread):
        raise Forbidden("Only the client and the provider can read this thread.")
    return Message.from_row(row)


async def resolve_node(ctx: Context, global_id: str) -> Node | None:
    try:
        type_name, _ = from_global_id(global_id)
    except ValueError:
        return None
    key = parse_int_id(global_id, type_name)
    if key is None:
        return None
    match type_name:
        case "Provider":
            row = await models.Provider.filter(id=key).first()
            return Provider.from_row(row) if row else None
        case "InsurancePlan":
            row = await models.InsurancePlan.filter(id=key).first()
            return InsurancePlan.from_row(row) if row else None
        case "User":
            return await _user(ctx, key)
        case "Appointment":
            appointment = await find_appointment(ctx, global_id)
            return Appointment.from_row(appointment) if appointment else None
        case "MessageThread":
            thread = await find_thread(ctx, global_id)
            return MessageThread.from_row(thread) if thread else None
        case "Message":
            return await _message(ctx, key)
    return None


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null if none.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info.context, id)
