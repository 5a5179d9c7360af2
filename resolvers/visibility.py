"""Who may see what: the checks every type and subscription shares."""

import models
from schema.context import Context


async def provider_user_id(ctx: Context, provider_id: int) -> int | None:
    provider = await ctx.loaders.provider_by_id.load(provider_id)
    return provider.user_id if provider else None


async def is_participant(ctx: Context, appointment: models.Appointment) -> bool:
    """The appointment's client or provider (staff are not participants)."""
    viewer = ctx.viewer
    if viewer is None:
        return False
    if viewer.id == appointment.client_id:
        return True
    return viewer.id == await provider_user_id(ctx, appointment.provider_id)


async def can_see_appointment(ctx: Context, appointment: models.Appointment) -> bool:
    return ctx.is_staff or await is_participant(ctx, appointment)


async def is_thread_participant(ctx: Context, thread: models.MessageThread) -> bool:
    viewer = ctx.viewer
    if viewer is None:
        return False
    if viewer.id == thread.client_id:
        return True
    return viewer.id == await provider_user_id(ctx, thread.provider_id)
