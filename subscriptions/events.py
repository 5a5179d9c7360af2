"""What each change announces, and to whom.

Events carry ids, and each subscriber loads what its own viewer may see; the
one exception is a new message, which both participants may see whole
(API.md), so its event carries it and a subscriber that is up to date needs
no read to deliver it.
"""

from dataclasses import dataclass
from datetime import datetime

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


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as its row holds it, rebuilt from its event."""

    id: int
    thread_id: int
    seq: int
    sender_id: int
    body: str
    topic: models.MessageTopic | None
    client_message_id: str | None
    sent_at: datetime

    @classmethod
    def from_event(cls, event: dict) -> "StoredMessage | None":
        fields = event.get("message")
        if not isinstance(fields, dict):
            return None
        topic = fields["topic"]
        return cls(
            id=fields["id"],
            thread_id=fields["thread_id"],
            seq=fields["seq"],
            sender_id=fields["sender_id"],
            body=fields["body"],
            topic=models.MessageTopic(topic) if topic else None,
            client_message_id=fields["client_message_id"],
            sent_at=datetime.fromisoformat(fields["sent_at"]),
        )


def message_event(message: models.Message) -> dict:
    return {
        "kind": "message",
        "seq": message.seq,
        "message_id": message.id,
        "message": {
            "id": message.id,
            "thread_id": message.thread_id,
            "seq": message.seq,
            "sender_id": message.sender_id,
            "body": message.body,
            "topic": message.topic.value if message.topic else None,
            "client_message_id": message.client_message_id,
            "sent_at": message.sent_at.isoformat(),
        },
    }


async def announce_message(
    message: models.Message, thread: models.MessageThread, provider_user_id: int
) -> None:
    """messageAdded to the thread, inboxUpdated to both participants."""
    await publish(thread_channel(thread.id), message_event(message))
    for user_id in (thread.client_id, provider_user_id):
        await publish(user_channel(user_id), {"kind": "inbox", "thread_id": thread.id})


async def announce_thread_read(thread: models.MessageThread, reader_id: int) -> None:
    await publish(user_channel(reader_id), {"kind": "inbox", "thread_id": thread.id})
