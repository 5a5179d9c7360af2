"""The two-process cluster, started once for the tests that ask for it."""

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.cluster import (
    Cluster,
    create_database,
    database_url,
    drop_database,
    postgres_admin_url,
    start_cluster,
    stop_cluster,
)

PROFILE = """
mutation Profile($input: ProviderProfileInput!) {
  updateProviderProfile(input: $input) { id }
}
"""

WINDOWS = """
mutation Windows($windows: [AvailabilityWindowInput!]!) {
  setWeeklyAvailability(windows: $windows) { id }
}
"""

NEXT_SLOT = """
query Next($id: ID!) { provider(id: $id) { nextAvailableSlot { startsAt } } }
"""

BOOK = """
mutation Book($input: BookAppointmentInput!) {
  bookAppointment(input: $input) { id thread { id } }
}
"""

SEND = """
mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { cursor } }
"""


@dataclass
class Account:
    token: str
    user_id: str


@dataclass
class Pair:
    """A client and the provider, with the thread their booking opened."""

    client: Account
    provider: Account
    thread_id: str


@dataclass
class Practice:
    cluster: Cluster
    provider: Account
    provider_id: str

    async def new_pair(self) -> Pair:
        """A new client books the next free time, on server 2; their thread."""
        token, user_id = await self.cluster.sign_up(1)
        slot = await self.cluster.call(1, NEXT_SLOT, {"id": self.provider_id})
        starts_at = slot["data"]["provider"]["nextAvailableSlot"]["startsAt"]
        booked = await self.cluster.call(
            1,
            BOOK,
            {
                "input": {
                    "providerId": self.provider_id,
                    "startsAt": starts_at,
                    "format": "PHONE",
                }
            },
            token,
        )
        assert "errors" not in booked, booked
        thread_id = booked["data"]["bookAppointment"]["thread"]["id"]
        return Pair(Account(token, user_id), self.provider, thread_id)

    async def send(
        self, server: int, sender: Account, thread_id: str, body: str
    ) -> str:
        """Send through one server; the message's cursor."""
        result = await self.cluster.call(
            server,
            SEND,
            {"input": {"threadId": thread_id, "body": body}},
            sender.token,
        )
        assert "errors" not in result, result
        return result["data"]["sendMessage"]["cursor"]


@pytest.fixture(scope="session")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    admin = postgres_admin_url()
    name = f"rapport_e2e_{os.getpid()}"
    await create_database(admin, name)
    directory: Path = tmp_path_factory.mktemp("cluster")
    running = start_cluster(directory, database_url(admin, name))
    try:
        yield running
    finally:
        stop_cluster(running)
        await drop_database(admin, name)


@pytest.fixture(scope="session")
async def practice(cluster: Cluster) -> Practice:
    """A provider open around the clock, bookable now, set up through the API."""
    token, user_id = await cluster.sign_up(0, role="PROVIDER")
    profile = await cluster.call(
        0,
        PROFILE,
        {
            "input": {
                "acceptingNewClients": True,
                "minimumNoticeHours": 0,
                "bookingHorizonDays": 365,
            }
        },
        token,
    )
    assert "errors" not in profile, profile
    windows = [
        {"weekday": day, "start": "00:00", "end": "24:00"} for day in range(1, 8)
    ]
    assert "errors" not in await cluster.call(0, WINDOWS, {"windows": windows}, token)
    provider_id = profile["data"]["updateProviderProfile"]["id"]
    return Practice(cluster, Account(token, user_id), provider_id)
