"""A new client's first booking, end to end, through the `gql` client.

Usage: python scripts/first_booking.py [http://127.0.0.1:8000/graphql]

Signs up, finds a New York provider who takes Aetna Choice POS II and whose
booking horizon reaches the next daylight-saving change, reads their open
times for the week that holds it, books the first one and lists it back.
Exits non-zero, saying why, when any step does not hold.
"""

import sys
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from gql import Client, gql
from gql.transport.httpx import HTTPXTransport

PLAN = "Aetna Choice POS II"

SIGN_UP = gql("""
mutation SignUp($input: SignUpInput!) { signUp(input: $input) { token user { id } } }
""")
PLANS = gql("query Plans($s: String) { insurancePlans(search: $s) { id name } }")
DIRECTORY = gql("""
query Directory($filter: ProviderFilter, $after: String) {
  providers(filter: $filter, first: 50, after: $after) {
    edges { node { id name timezone bookingHorizonDays firstAppointment formats } }
    pageInfo { hasNextPage endCursor }
  }
}
""")
SLOTS = gql("""
query Slots($id: ID!, $from: DateTime!, $to: DateTime!) {
  provider(id: $id) { availableSlots(from: $from, to: $to) { startsAt formats } }
}
""")
BOOK = gql("""
mutation Book($input: BookAppointmentInput!) {
  bookAppointment(input: $input) { id kind startsAt thread { id } }
}
""")
MINE = gql("""
{ viewer { appointments { edges { node { id startsAt } } }
           threads { edges { node { id provider { name } } } } } }
""")


def next_dst_change(zone: ZoneInfo, after: datetime) -> datetime:
    """The first hour after `after` when the zone's UTC offset changes."""
    instant = after.replace(minute=0, second=0, microsecond=0)
    offset = instant.astimezone(zone).utcoffset()
    for _ in range(24 * 400):
        instant += timedelta(hours=1)
        if instant.astimezone(zone).utcoffset() != offset:
            return instant
    raise SystemExit("no daylight-saving change within 400 days")


def fail(message: str) -> None:
    raise SystemExit(f"FAILED: {message}")


def main(url: str) -> None:
    anonymous = Client(transport=HTTPXTransport(url=url))
    email = f"first-{uuid.uuid4().hex[:8]}@example.test"
    account = anonymous.execute(
        SIGN_UP,
        variable_values={
            "input": {
                "email": email,
                "password": "a good long passphrase",
                "name": "First Time",
                "role": "CLIENT",
                "timezone": "America/Los_Angeles",
            }
        },
    )["signUp"]
    headers = {"Authorization": f"Bearer {account['token']}"}
    client = Client(transport=HTTPXTransport(url=url, headers=headers))
    print(f"signed up {email}")

    plans = anonymous.execute(PLANS, variable_values={"s": "Aetna"})["insurancePlans"]
    plan = next((p for p in plans if p["name"] == PLAN), None) or fail(f"no {PLAN}")
    change = next_dst_change(ZoneInfo("America/New_York"), datetime.now(UTC))
    print(f"next DST change in New York: {change:%Y-%m-%d %H:%MZ}")

    filter_ = {
        "state": "NY",
        "insurancePlanId": plan["id"],
        "acceptingNewClients": True,
    }
    provider, after = None, None
    while provider is None:
        page = anonymous.execute(
            DIRECTORY, variable_values={"filter": filter_, "after": after}
        )["providers"]
        for edge in page["edges"]:
            node = edge["node"]
            reach = datetime.now(UTC) + timedelta(days=node["bookingHorizonDays"])
            if node["timezone"] == "America/New_York" and reach > change + timedelta(
                days=7
            ):
                provider = node
                break
        if provider is None and not page["pageInfo"]["hasNextPage"]:
            fail("no NY provider taking the plan reaches the DST change")
        after = page["pageInfo"]["endCursor"]
    print(f"provider: {provider['name']} (horizon {provider['bookingHorizonDays']} d)")

    zone = ZoneInfo(provider["timezone"])
    local_change = change.astimezone(zone)
    # A week around the change: wall-clock times on both sides of it.
    start = (local_change - timedelta(days=3)).replace(hour=0, minute=0)
    week = {"from": start.isoformat(), "to": (start + timedelta(days=7)).isoformat()}
    slots = anonymous.execute(SLOTS, variable_values={"id": provider["id"], **week})[
        "provider"
    ]["availableSlots"]
    if not slots:
        fail("no open times in the week of the change")
    by_local_time: dict[str, set[str]] = {}
    for slot in slots:
        start = datetime.fromisoformat(slot["startsAt"].replace("Z", "+00:00"))
        local = start.astimezone(zone)
        by_local_time.setdefault(local.strftime("%H:%M"), set()).add(
            local.strftime("%Z")
        )
    first_local = min(by_local_time)
    print(f"{len(slots)} open times; earliest local start {first_local}")
    both_sides = sorted(t for t, zones in by_local_time.items() if len(zones) == 2)
    if not both_sides:
        fail("no wall-clock time is offered on both sides of the change")
    print(f"wall-clock times kept across the change: {', '.join(both_sides)}")

    first = slots[0]
    fmt = (
        "PHONE" if provider["firstAppointment"] == "INTRO_CALL" else first["formats"][0]
    )
    booked = client.execute(
        BOOK,
        variable_values={
            "input": {
                "providerId": provider["id"],
                "startsAt": first["startsAt"],
                "format": fmt,
                "idempotencyKey": "first-booking",
            }
        },
    )["bookAppointment"]
    print(f"booked {booked['kind']} at {booked['startsAt']}")

    mine = client.execute(MINE)["viewer"]
    appointment_ids = [e["node"]["id"] for e in mine["appointments"]["edges"]]
    thread_ids = [e["node"]["id"] for e in mine["threads"]["edges"]]
    if booked["id"] not in appointment_ids:
        fail("the booking is not under viewer.appointments")
    if booked["thread"]["id"] not in thread_ids:
        fail("the thread is not under viewer.threads")
    print("listed under viewer.appointments and viewer.threads: ok")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/graphql")
