"""Who may call what: every root field × six kinds of caller, run for real.

The list of operations comes from the built schema, so a new query, mutation
or subscription without a row in MATRIX fails
`test_every_operation_has_a_row`. Each cell runs against a fresh world and
asserts the outcome (OK, NULL, or an API.md code); a refused mutation must
leave the database exactly as it was.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from tortoise import connections

import models
from resolvers import throttles
from schema.context import Context
from schema.pagination import encode_cursor
from subscriptions import broker
from tests.conftest import (
    PASSWORD,
    TABLES,
    gid,
    make_provider,
    make_user,
    utc,
)
from tests.resolvers.scheduling_helpers import add_appointment

ACTORS = (
    "anonymous",
    "client",
    "another_client",
    "provider",
    "another_provider",
    "staff",
)
OK, NULL = "OK", "NULL"
UNAUTH, FORBID = "UNAUTHENTICATED", "FORBIDDEN"


def expect(*outcomes: str) -> dict[str, str]:
    """Outcomes in ACTORS order, so each row reads left to right."""
    assert len(outcomes) == len(ACTORS)
    return dict(zip(ACTORS, outcomes, strict=True))


EVERYONE = expect(OK, OK, OK, OK, OK, OK)
SIGNED_IN = expect(UNAUTH, OK, OK, OK, OK, OK)
PARTICIPANTS_AND_STAFF = expect(FORBID, OK, FORBID, OK, FORBID, OK)
THREAD_PARTICIPANTS = expect(FORBID, OK, FORBID, OK, FORBID, FORBID)
WRITE_THREAD = expect(UNAUTH, OK, FORBID, OK, FORBID, FORBID)
STAFF_ONLY = expect(UNAUTH, FORBID, FORBID, FORBID, FORBID, OK)
ANY_PROVIDER = expect(UNAUTH, FORBID, FORBID, OK, OK, FORBID)
THE_PROVIDER = expect(UNAUTH, FORBID, FORBID, OK, FORBID, FORBID)
NEW_CLIENT = expect(UNAUTH, FORBID, OK, FORBID, FORBID, FORBID)
CANCELLERS = expect(UNAUTH, OK, FORBID, OK, FORBID, OK)

NOW = utc(2027, 6, 1, 12)
UPCOMING = utc(2027, 6, 10, 14)
ENDED = utc(2027, 5, 28, 14)
JOIN_INFO = "https://video.example.test/room-4411"
BODY = "The first session notes are ready."


@dataclass
class World:
    """Pat (provider) sees Alex (client); Quinn (provider) sees Blair (client)."""

    users: dict[str, models.User | None]
    provider: models.Provider
    other_provider: models.Provider
    upcoming: models.Appointment
    ended: models.Appointment
    thread: models.MessageThread
    message: models.Message
    plan: models.InsurancePlan

    def id(self, name: str) -> str:
        rows = {
            "provider": ("Provider", self.provider.id),
            "plan": ("InsurancePlan", self.plan.id),
            "client": ("User", self.users["client"].id),
            "upcoming": ("Appointment", self.upcoming.id),
            "ended": ("Appointment", self.ended.id),
            "thread": ("MessageThread", self.thread.id),
            "message": ("Message", self.message.id),
        }
        return gid(*rows[name])


async def build_world() -> World:
    plan = await models.InsurancePlan.create(name="Aetna Open Access", payer="Aetna")
    client = await make_user(name="Alex Client", email="alex@example.test")
    other_client = await make_user(name="Blair Client", email="blair@example.test")
    # Tuesdays 09:00-17:00 New York: enough for the one booking a cell makes.
    provider = await make_provider(name="Pat Provider", windows=[(2, 540, 1020)])
    other_provider = await make_provider(name="Quinn Provider", windows=[])
    staff = await make_user(models.Role.STAFF, name="Sam Staff")

    upcoming = await add_appointment(provider, client, UPCOMING, join_info=JOIN_INFO)
    ended = await add_appointment(provider, client, ENDED)
    await add_appointment(other_provider, other_client, UPCOMING)
    thread = await models.MessageThread.get(
        client_id=client.id, provider_id=provider.id
    )
    message = await models.Message.create(
        thread=thread, seq=1, sender=client, body=BODY, sent_at=NOW
    )
    await models.MessageThread.filter(id=thread.id).update(last_seq=1)

    users = {
        "anonymous": None,
        "client": client,
        "another_client": other_client,
        "provider": await models.User.get(id=provider.user_id),
        "another_provider": await models.User.get(id=other_provider.user_id),
        "staff": staff,
    }
    return World(
        users, provider, other_provider, upcoming, ended, thread, message, plan
    )


Variables = Callable[[World, str], dict[str, Any]]
Check = Callable[[World, str, Any], None]


@dataclass(frozen=True)
class Case:
    field: str  # "Query.node": the schema field this row covers
    document: str
    expected: dict[str, str]
    variables: Variables = lambda world, actor: {}
    label: str = ""
    check: Check | None = None
    channel: Callable[[World, str], str] | None = field(default=None)

    @property
    def name(self) -> str:
        return self.label or self.field.split(".")[1]

    @property
    def root(self) -> str:
        return self.field.split(".")[1]


def node_case(kind: str, expected: dict[str, str], selection: str = "") -> Case:
    return Case(
        "Query.node",
        "query($id: ID!) { node(id: $id) { __typename id " + selection + " } }",
        expected,
        lambda world, actor: {"id": world.id(kind)},
        label=f"node({kind})",
    )


def staff_sees_no_private_parts(world: World, actor: str, data: Any) -> None:
    appointment = data["appointment"]
    participant = actor in ("client", "provider")
    assert appointment["joinInfo"] == (JOIN_INFO if participant else None)
    assert (appointment["thread"] is not None) == participant
    email = appointment["client"]["email"]
    assert email == ("alex@example.test" if actor in ("client", "staff") else None)


def viewer_is_the_caller(world: World, actor: str, data: Any) -> None:
    assert data["viewer"]["user"]["id"] == gid("User", world.users[actor].id)


def staff_list_every_appointment(world: World, actor: str, data: Any) -> None:
    assert len(data["appointments"]["edges"]) == 3


def participants_read_the_body(world: World, actor: str, data: Any) -> None:
    edges = data["thread"]["messages"]["edges"]
    assert [edge["node"]["body"] for edge in edges] == [BODY]


def unique_email(world: World, actor: str) -> dict[str, Any]:
    return {
        "input": {
            "email": f"new-{actor}@example.test",
            "password": "a long passphrase",
            "name": "New Person",
            "role": "CLIENT",
            "timezone": "America/Chicago",
        }
    }


MATRIX: list[Case] = [
    # Queries
    node_case("provider", EVERYONE),
    node_case("plan", EVERYONE),
    node_case("client", expect(FORBID, OK, FORBID, OK, FORBID, OK)),
    node_case("upcoming", PARTICIPANTS_AND_STAFF),
    node_case("thread", THREAD_PARTICIPANTS),
    node_case("message", THREAD_PARTICIPANTS, "... on Message { body }"),
    Case(
        "Query.viewer",
        "{ viewer { user { id } } }",
        expect(NULL, OK, OK, OK, OK, OK),
        check=lambda world, actor, data: (
            viewer_is_the_caller(world, actor, data) if actor != "anonymous" else None
        ),
    ),
    Case("Query.providers", "{ providers { edges { node { id name } } } }", EVERYONE),
    Case(
        "Query.provider",
        "query($id: ID!) { provider(id: $id) { id name } }",
        EVERYONE,
        lambda world, actor: {"id": world.id("provider")},
    ),
    Case("Query.insurancePlans", "{ insurancePlans { id name } }", EVERYONE),
    Case(
        "Query.appointment",
        "query($id: ID!) { appointment(id: $id) { id joinInfo thread { id } "
        "client { email } } }",
        PARTICIPANTS_AND_STAFF,
        lambda world, actor: {"id": world.id("upcoming")},
        check=staff_sees_no_private_parts,
    ),
    Case(
        "Query.appointments",
        "{ appointments { edges { node { id status } } } }",
        STAFF_ONLY,
        check=staff_list_every_appointment,
    ),
    Case(
        "Query.thread",
        "query($id: ID!) { thread(id: $id) { id "
        "messages { edges { node { body } } } } }",
        THREAD_PARTICIPANTS,
        lambda world, actor: {"id": world.id("thread")},
        check=participants_read_the_body,
    ),
    # Mutations
    Case(
        "Mutation.signUp",
        "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
        EVERYONE,
        unique_email,
    ),
    Case(
        "Mutation.logIn",
        "mutation($email: String!, $password: String!) { "
        "logIn(email: $email, password: $password) { token } }",
        EVERYONE,
        lambda world, actor: {"email": "alex@example.test", "password": PASSWORD},
    ),
    Case("Mutation.logOut", "mutation { logOut }", SIGNED_IN),
    Case(
        "Mutation.updateProviderProfile",
        'mutation { updateProviderProfile(input: {bio: "Grief and loss."}) { id } }',
        ANY_PROVIDER,
    ),
    Case(
        "Mutation.setWeeklyAvailability",
        "mutation { setWeeklyAvailability(windows: "
        '[{weekday: 1, start: "09:00", end: "12:00"}]) { id } }',
        ANY_PROVIDER,
    ),
    Case(
        "Mutation.addTimeOff",
        'mutation { addTimeOff(startsAt: "2027-07-01T00:00:00Z", '
        'endsAt: "2027-07-08T00:00:00Z", reason: "Away") { id } }',
        ANY_PROVIDER,
    ),
    Case(
        "Mutation.bookAppointment",
        "mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) "
        "{ id } }",
        NEW_CLIENT,
        lambda world, actor: {
            "input": {
                "providerId": world.id("provider"),
                "startsAt": "2027-06-15T14:00:00Z",
                "format": "PHONE",
            }
        },
    ),
    Case(
        "Mutation.scheduleAppointment",
        "mutation($input: ScheduleAppointmentInput!) { "
        "scheduleAppointment(input: $input) { id } }",
        THE_PROVIDER,
        lambda world, actor: {
            "input": {
                "clientId": world.id("client"),
                "startsAt": "2027-06-20T15:00:00Z",
                "format": "VIDEO",
            }
        },
    ),
    Case(
        "Mutation.rescheduleAppointment",
        "mutation($id: ID!) { rescheduleAppointment(id: $id, "
        'startsAt: "2027-06-11T15:00:00Z") { id } }',
        THE_PROVIDER,
        lambda world, actor: {"id": world.id("upcoming")},
    ),
    Case(
        "Mutation.cancelAppointment",
        'mutation($id: ID!) { cancelAppointment(id: $id, reason: "Ill") { id } }',
        CANCELLERS,
        lambda world, actor: {"id": world.id("upcoming")},
    ),
    Case(
        "Mutation.setJoinInfo",
        "mutation($id: ID!) { setJoinInfo(appointmentId: $id, "
        'joinInfo: "Dial 555-0100") { id } }',
        THE_PROVIDER,
        lambda world, actor: {"id": world.id("upcoming")},
    ),
    Case(
        "Mutation.completeAppointment",
        "mutation($id: ID!) { completeAppointment(id: $id) { id status } }",
        THE_PROVIDER,
        lambda world, actor: {"id": world.id("ended")},
    ),
    Case(
        "Mutation.markNoShow",
        "mutation($id: ID!) { markNoShow(id: $id) { id status } }",
        THE_PROVIDER,
        lambda world, actor: {"id": world.id("ended")},
    ),
    Case("Mutation.resetCalendarUrl", "mutation { resetCalendarUrl }", SIGNED_IN),
    Case(
        "Mutation.sendMessage",
        'mutation($id: ID!) { sendMessage(input: {threadId: $id, body: "Hi"}) { id } }',
        WRITE_THREAD,
        lambda world, actor: {"id": world.id("thread")},
    ),
    Case(
        "Mutation.markThreadRead",
        "mutation($id: ID!) { markThreadRead(threadId: $id) { id } }",
        WRITE_THREAD,
        lambda world, actor: {"id": world.id("thread")},
    ),
    # Subscriptions: OK means subscribed (the broker holds a listener for it).
    Case(
        "Subscription.messageAdded",
        "subscription($id: ID!, $after: String) { "
        "messageAdded(threadId: $id, after: $after) { body } }",
        WRITE_THREAD,
        lambda world, actor: {
            "id": world.id("thread"),
            # From the start: a subscriber first receives the stored message.
            "after": encode_cursor("m", world.thread.id, 0),
        },
    ),
    Case(
        "Subscription.inboxUpdated",
        "subscription { inboxUpdated { id } }",
        SIGNED_IN,
    ),
    Case(
        "Subscription.scheduleChanged",
        "subscription { scheduleChanged { type } }",
        SIGNED_IN,
    ),
    Case(
        "Subscription.availabilityChanged",
        "subscription($id: ID!) { availabilityChanged(providerId: $id) { id } }",
        EVERYONE,
        lambda world, actor: {"id": world.id("provider")},
    ),
]

ROWS = [pytest.param(case, id=case.name) for case in MATRIX]
CELL_COUNT = len(MATRIX) * len(ACTORS)


def schema_operations(schema: Any) -> set[str]:
    graphql_schema = schema._schema
    roots = (
        graphql_schema.query_type,
        graphql_schema.mutation_type,
        graphql_schema.subscription_type,
    )
    return {f"{root.name}.{name}" for root in roots if root for name in root.fields}


def test_every_operation_has_a_row(schema):
    covered = {case.field for case in MATRIX}

    missing = sorted(schema_operations(schema) - covered)
    stale = sorted(covered - schema_operations(schema))

    assert not missing, (
        f"operations without a row in tests/test_authorization_matrix.py MATRIX: "
        f"{', '.join(missing)}: say who may call each one"
    )
    assert not stale, f"rows for operations the schema no longer has: {stale}"


def test_every_row_names_every_actor():
    for case in MATRIX:
        assert set(case.expected) == set(ACTORS), case.name


async def snapshot() -> dict[str, Any]:
    """What a refused mutation must leave untouched."""
    return {
        "users": await models.User.all()
        .order_by("id")
        .values_list("id", "email", "calendar_secret"),
        "live_sessions": await models.Session.filter(revoked_at=None).count(),
        "appointments": await models.Appointment.all()
        .order_by("id")
        .values_list("id", "status", "starts_at", "join_info", "cancelled_by_id"),
        "messages": await models.Message.all().count(),
        "threads": await models.MessageThread.all()
        .order_by("id")
        .values_list("id", "last_seq", "client_read_seq", "provider_read_seq"),
        "providers": await models.Provider.all()
        .order_by("id")
        .values_list("id", "bio", "availability_version"),
        "windows": await models.AvailabilityWindow.all().count(),
        "time_off": await models.TimeOff.all().count(),
    }


def outcome_of(result: Any, root: str) -> str:
    if result.errors:
        return result.errors[0]["extensions"]["code"]
    return NULL if result.data[root] is None else OK


async def run_subscription(schema: Any, case: Case, world: World, actor: str) -> str:
    user = world.users[actor]
    ctx = Context(viewer=user)
    if user is not None:
        session = await models.Session.filter(user_id=user.id).first()
        ctx.session_id = session.id
    broadcast = broker.get_broadcast()
    before = listening(broadcast)

    stream = await schema.subscribe(
        case.document, case.variables(world, actor), context_value=ctx
    )
    if not hasattr(stream, "__anext__"):  # refused before it started
        return stream.errors[0].extensions["code"]
    first = asyncio.ensure_future(stream.__anext__())
    try:
        # Refusals arrive as the first result; a subscription that was let in
        # registers a listener with the broker and then waits for events.
        for _ in range(1000):
            if first.done() or listening(broadcast) > before:
                break
            await asyncio.sleep(0.005)
        if first.done():
            result = first.result()
            if result.errors:
                return result.errors[0].extensions["code"]
            return OK
        assert listening(broadcast) > before, f"{case.name} neither failed nor listened"
        return OK
    finally:
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        await stream.aclose()


def listening(broadcast: Any) -> int:
    count = getattr(broadcast, "subscription_count", None)
    if callable(count):
        return count()
    return sum(len(queues) for queues in broadcast._subscribers.values())


async def empty_database() -> None:
    # Ids may go on counting: each world keeps its own rows.
    conn = connections.get("default")
    await conn.execute_script(";\n".join(f"DELETE FROM {table}" for table in TABLES))
    await throttles.reset()


async def run_cell(case: Case, actor: str, world: World, execute, schema) -> str:
    """Run one cell; return a complaint, or "" when it held."""
    before = await snapshot() if case.field.startswith("Mutation.") else None
    if case.field.startswith("Subscription."):
        outcome = await run_subscription(schema, case, world, actor)
        result = None
    else:
        result = await execute(
            case.document, case.variables(world, actor), world.users[actor]
        )
        outcome = outcome_of(result, case.root)

    expected = case.expected[actor]
    if outcome != expected:
        return f"{case.name} as {actor}: expected {expected}, got {outcome} ({result})"
    if outcome == OK and case.check is not None:
        try:
            case.check(world, actor, result.data)
        except AssertionError as error:
            return f"{case.name} as {actor}: {error or 'check failed'} ({result})"
    if before is not None and outcome != OK and await snapshot() != before:
        return f"{case.name} as {actor}: refused, yet it changed data"
    return ""


@pytest.mark.parametrize("case", ROWS)
async def test_row(case: Case, execute, schema, now):
    # given one world for reads; a fresh one per caller for mutations
    now(NOW)
    mutates = case.field.startswith("Mutation.")
    world = await build_world()

    # when each kind of caller calls the operation
    complaints = []
    for number, actor in enumerate(ACTORS):
        if mutates and number:
            await empty_database()
            world = await build_world()
        complaints.append(await run_cell(case, actor, world, execute, schema))

    # then every cell has the outcome the row promises
    assert not [c for c in complaints if c], "\n".join(c for c in complaints if c)


def test_the_matrix_size_is_reported():
    # The acceptance note quotes this number.
    assert CELL_COUNT == sum(len(case.expected) for case in MATRIX)
    print(f"authorization matrix: {len(MATRIX)} rows x {len(ACTORS)} = {CELL_COUNT}")
