"""What each change announces, and to whom.

Events carry ids, and each subscriber loads what its own viewer may see; the
one exception is a new message, which both participants may see whole
(API.md), so its event carries it and a subscriber that is up to date needs
no read to deliver it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import clock
import models
from schema.errors import format_instant
from subscriptions.broker import publish, publish_many
from subscriptions.channels import (
    provider_availability_channel,
    thread_channel,
    user_channel,
)


Event = tuple[str, dict]


async def announce_appointments(
    event_type: str,
    appointments: Sequence[models.Appointment],
    provider_user_id: int,
    *,
    availability_of: int | None = None,
) -> None:
    """One scheduleChanged event per appointment, to both participants; and
    with availability_of, that provider's availabilityChanged. All in one
    round trip to the broker."""
    at = format_instant(clock.now())
    events: list[Event] = []
    for appointment in appointments:
        payload = {
            "kind": "schedule",
            "type": event_type,
            "appointment_id": appointment.id,
            "at": at,
        }
        for user_id in {appointment.client_id, provider_user_id}:
            events.append((user_channel(user_id), payload))
    if availability_of is not None:
        events.append(_availability_event(availability_of))
    await publish_many(events)


async def announce_availability(provider_id: int) -> None:
    """Open times moved; never says who booked."""
    await publish_many([_availability_event(provider_id)])


def _availability_event(provider_id: int) -> Event:
    return (
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
    inbox = {"kind": "inbox", "thread_id": thread.id}
    await publish_many(
        [
            (thread_channel(thread.id), message_event(message)),
            (user_channel(thread.client_id), inbox),
            (user_channel(provider_user_id), inbox),
        ]
    )


async def announce_thread_read(thread: models.MessageThread, reader_id: int) -> None:
    await publish(user_channel(reader_id), {"kind": "inbox", "thread_id": thread.id})
