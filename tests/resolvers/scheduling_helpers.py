"""Shared set-up for the provider-scheduling tests: rows and recorded events."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import models
from subscriptions.broker import listen, publish
from subscriptions.channels import provider_availability_channel, user_channel
from tests.conftest import make_provider, make_user

APPOINTMENT_FIELDS = """
  id kind format status startsAt endsAt durationMinutes cptCode joinInfo seriesId
  office { label address state }
  cancellation { late reason cancelledBy { id } }
"""


async def add_appointment(
    provider: models.Provider,
    client: models.User,
    starts_at: datetime,
    minutes: int = 50,
    kind: str = "SESSION",
    format: str = "VIDEO",
    status: str = "BOOKED",
    series_id: str | None = None,
    join_info: str | None = None,
) -> models.Appointment:
    """An appointment written straight to the table, as booking would leave it."""
    ends_at = starts_at + timedelta(minutes=minutes)
    row = await models.Appointment.create(
        provider_id=provider.id,
        client_id=client.id,
        kind=kind,
        format=format,
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        blocked_until=ends_at + timedelta(minutes=provider.buffer_minutes),
        duration_minutes=minutes,
        series_id=series_id,
        join_info=join_info,
    )
    if not await models.MessageThread.filter(
        client_id=client.id, provider_id=provider.id
    ).exists():
        await models.MessageThread.create(
            client_id=client.id, provider_id=provider.id, last_activity_at=starts_at
        )
    return row


async def provider_with_client(
    intro_at: datetime, **profile: Any
) -> tuple[models.Provider, models.User]:
    """A provider and a client who has had an intro call with them at `intro_at`."""
    provider = await make_provider(**profile)
    client = await make_user()
    await add_appointment(
        provider, client, intro_at, minutes=15, kind="INTRO_CALL", format="PHONE"
    )
    return provider, client


class Recorder:
    """Events of one channel, read up to a marker published after the action."""

    def __init__(self, channel: str, events: AsyncIterator[dict[str, Any]]) -> None:
        self.channel = channel
        self.events = events

    async def drain(self) -> list[dict[str, Any]]:
        # The marker goes out on the same channel after the action's events,
        # so reading up to it sees every event, without waiting on a timer.
        await publish(self.channel, {"kind": "marker"})
        seen: list[dict[str, Any]] = []

        async def read() -> None:
            async for event in self.events:
                if event.get("kind") == "marker":
                    return
                seen.append(event)

        await asyncio.wait_for(read(), timeout=10)
        return seen


@asynccontextmanager
async def recording(channel: str) -> AsyncIterator[Recorder]:
    async with listen(channel) as events:
        yield Recorder(channel, events)


@asynccontextmanager
async def schedule_events(user: models.User) -> AsyncIterator[Recorder]:
    """scheduleChanged payloads sent to one user."""
    async with recording(user_channel(user.id)) as recorder:
        yield recorder


@asynccontextmanager
async def availability_events(provider: models.Provider) -> AsyncIterator[Recorder]:
    async with recording(provider_availability_channel(provider.id)) as recorder:
        yield recorder


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(type, appointment id) of each scheduleChanged payload, in order."""
    return [
        (event["type"], event["appointment_id"])
        for event in events
        if event.get("kind") == "schedule"
    ]
