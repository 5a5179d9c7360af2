"""Shared fixtures: one database and broker per run, emptied between tests.

The backend comes from the environment, as in production: DATABASE_URL
(default: a fresh SQLite file) and REDIS_URL (default: the in-process broker).
"""

import inspect
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise import connections

import clock
import database
import models
from resolvers import throttles
from resolvers.auth import hash_password, issue_token
from schema import build_schema
from schema.context import Context
from schema.ids import to_global_id
from subscriptions import broker

os.environ.setdefault("SEED_DEMO_DATA", "false")
_TMP = tempfile.mkdtemp(prefix="rapport-tests-")
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite://{_TMP}/test.db"
REDIS_URL = os.environ.get("REDIS_URL") or None
os.environ["DATABASE_URL"] = DATABASE_URL

# Children first, so deletes never trip a foreign key.
TABLES = [
    "messages",
    "message_threads",
    "appointments",
    "time_off",
    "availability_windows",
    "offices",
    "provider_tags",
    "provider_plans",
    "providers",
    "insurance_plans",
    "sessions",
    "users",
]

# One password hash for every test account: argon2 is slow on purpose.
PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(PASSWORD)


def uses_postgres() -> bool:
    return DATABASE_URL.startswith(("postgres", "asyncpg"))


@pytest.fixture(scope="session")
async def _database() -> AsyncIterator[None]:
    await database.open_database(DATABASE_URL)
    await broker.start_broker(REDIS_URL)
    yield
    await broker.stop_broker()
    await database.close_database()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every async test gets an empty database; plain tests need none.
    for item in items:
        function = getattr(item, "obj", None)
        if inspect.iscoroutinefunction(function) and "db" not in item.fixturenames:
            item.fixturenames.insert(0, "db")


@pytest.fixture
async def db(_database: None) -> AsyncIterator[None]:
    """An empty database for every test."""
    conn = connections.get("default")
    if uses_postgres():
        # DELETE and a sequence reset take ~7 ms; TRUNCATE took ~300 ms a test.
        resets = [
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)"
            for table in TABLES
            if table not in ("provider_plans", "sessions")
        ]
        deletes = [f"DELETE FROM {table}" for table in TABLES]
        await conn.execute_script(";\n".join(deletes + resets))
    else:
        for table in TABLES:
            await conn.execute_script(f"DELETE FROM {table}")
    # Ids start again at 1, so yesterday's user 1 must not own today's counts.
    await throttles.reset()
    yield


@pytest.fixture(scope="session")
def schema() -> Any:
    return build_schema()


@pytest.fixture
def now() -> Iterator[Callable[[datetime], None]]:
    """Fix the clock: call now(datetime) to move it. Restored afterwards."""

    def set_now(instant: datetime) -> None:
        clock.set_clock(lambda: instant)

    yield set_now
    clock.set_clock(None)


class Result:
    def __init__(self, data: Any, errors: list[dict[str, Any]]) -> None:
        self.data = data
        self.errors = errors

    @property
    def code(self) -> str | None:
        return self.errors[0]["extensions"]["code"] if self.errors else None

    def __repr__(self) -> str:
        return f"Result(data={self.data!r}, errors={self.errors!r})"


@pytest.fixture
def execute(schema: Any) -> Callable[..., Any]:
    """Run a document as `as_user` would, without HTTP."""

    async def run(
        document: str,
        variables: dict[str, Any] | None = None,
        as_user: models.User | None = None,
    ) -> Result:
        ctx = Context(viewer=as_user)
        if as_user is not None:
            session = await models.Session.filter(user_id=as_user.id).first()
            ctx.session_id = session.id if session else None
        result = await schema.execute(document, variables, context_value=ctx)
        errors = [error.formatted for error in result.errors or []]
        return Result(result.data, errors)

    return run


async def make_user(
    role: models.Role = models.Role.CLIENT,
    name: str = "Avery Client",
    email: str | None = None,
    timezone: str = "America/New_York",
) -> models.User:
    count = await models.User.all().count()
    user = await models.User.create(
        email=email or f"user{count + 1}@example.test",
        password_hash=_PASSWORD_HASH,
        name=name,
        role=role,
        timezone=timezone,
    )
    await issue_token(user)
    return user


WEEKDAYS_9_TO_5 = [(day, 9 * 60, 17 * 60) for day in range(1, 8)]


async def make_provider(
    name: str = "Dana Provider",
    timezone: str = "America/New_York",
    windows: list[tuple[int, int, int]] | None = None,
    **profile: Any,
) -> models.Provider:
    """A provider accepting clients, by default open every day 09:00–17:00."""
    from resolvers.providers import sync_tags

    user = await make_user(models.Role.PROVIDER, name=name, timezone=timezone)
    fields: dict[str, Any] = {
        "accepting_new_clients": True,
        "formats": ["VIDEO"],
        "licensed_states": ["NY"],
        "minimum_notice_hours": 0,
        "booking_horizon_days": 365,
    }
    fields.update(profile)
    provider = await models.Provider.create(
        user=user, name=name, timezone=timezone, **fields
    )
    await sync_tags(provider)
    for weekday, start, end in WEEKDAYS_9_TO_5 if windows is None else windows:
        await models.AvailabilityWindow.create(
            provider=provider, weekday=weekday, start_minute=start, end_minute=end
        )
    return provider


@pytest.fixture
def client_factory() -> Callable[..., Any]:
    return make_user


@pytest.fixture
def provider_factory() -> Callable[..., Any]:
    return make_provider


def gid(type_name: str, key: int) -> str:
    return to_global_id(type_name, key)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["gid", "iso", "make_provider", "make_user", "timedelta", "utc"]


async def make_thread(
    client: models.User | None = None, provider: models.Provider | None = None
) -> models.MessageThread:
    """The thread of a client and a provider (as their first booking opens it)."""
    from resolvers.appointments import ensure_thread

    client = client or await make_user()
    provider = provider or await make_provider()
    return await ensure_thread(client.id, provider.id)


@pytest.fixture
def thread_factory() -> Callable[..., Any]:
    return make_thread
