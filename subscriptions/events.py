"""What each change announces, and to whom: ids only, loaded per subscriber."""

import clock
import models
from schema.errors import format_instant
from subscriptions.broker import publish
from subscriptions.channels import (
    provider_availability_channel,
    thread_channel,
    user_channel,
)


async def announce_appointment(
    event_type: str, appointment: models.Appointment, provider_user_id: int
) -> None:
    """One scheduleChanged event per appointment, to both participants."""
    payload = {
        "kind": "schedule",
        "type": event_type,
        "appointment_id": appointment.id,
        "at": format_instant(clock.now()),
    }
    for user_id in {appointment.client_id, provider_user_id}:
        await publish(user_channel(user_id), payload)


async def announce_availability(provider_id: int) -> None:
    """Open times moved; never says who booked."""
    await publish(
        provider_availability_channel(provider_id),
        {"kind": "availability", "provider_id": provider_id},
    )


async def announce_message(
    message: models.Message, thread: models.MessageThread, provider_user_id: int
) -> None:
    """messageAdded to the thread, inboxUpdated to both participants."""
    await publish(
        thread_channel(thread.id),
        {"kind": "message", "seq": message.seq, "message_id": message.id},
    )
    for user_id in (thread.client_id, provider_user_id):
        await publish(user_channel(user_id), {"kind": "inbox", "thread_id": thread.id})


async def announce_thread_read(thread: models.MessageThread, reader_id: int) -> None:
    await publish(user_channel(reader_id), {"kind": "inbox", "thread_id": thread.id})
