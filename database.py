"""Tortoise set-up: configuration, migrations at start, and shutdown."""

import logging
from typing import Any

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api.migrate import migrate

from settings import get_settings

logger = logging.getLogger(__name__)


class _PooledConnection(asyncpg.Connection):
    def get_reset_query(self) -> str:
        # asyncpg sends "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
        # RESET ALL;" each time a connection goes back to the pool: one more
        # round trip per statement outside a transaction. We take no advisory
        # locks, open no cursors, LISTEN to nothing and SET nothing; an open
        # transaction is still ended on release either way.
        return ""


class PostgresClient(AsyncpgDBClient):
    connection_class = _PooledConnection


# Tortoise finds a backend's client by module name: PostgreSQL URLs name this
# module as their engine (tortoise_config).
client_class = PostgresClient


def tortoise_config(database_url: str | None = None) -> dict[str, Any]:
    url = database_url or get_settings().database_url
    connection: str | dict[str, Any] = url
    expanded = expand_db_url(url)
    if expanded["engine"] == "tortoise.backends.asyncpg":
        connection = {**expanded, "engine": __name__}
    return {
        "connections": {"default": connection},
        "apps": {
            "models": {
                "models": ["models"],
                "migrations": "migrations",
                "default_connection": "default",
            }
        },
        # With use_tz on, SQLite and PostgreSQL agree on offsets.
        "use_tz": True,
        "timezone": "UTC",
    }


# For the `tortoise` command line: `tortoise -c database.TORTOISE_ORM makemigrations`.
TORTOISE_ORM = tortoise_config()


async def open_database(database_url: str | None = None) -> None:
    """Apply pending migrations and connect, with a global context for requests."""
    config = tortoise_config(database_url)
    await migrate(config=config)
    await Tortoise.init(config=config, _enable_global_fallback=True)


async def close_database() -> None:
    # close_all() would leave the global context set, so a later init in
    # this process (tests, tools) would be refused.
    await Tortoise.close_connections()


def is_postgres() -> bool:
    return connections.get("default").capabilities.dialect == "postgres"
