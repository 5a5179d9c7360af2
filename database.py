"""Tortoise set-up: configuration, migrations at start, and shutdown."""

import logging
from typing import Any

from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate

from settings import get_settings

logger = logging.getLogger(__name__)


def tortoise_config(database_url: str | None = None) -> dict[str, Any]:
    url = database_url or get_settings().database_url
    return {
        "connections": {"default": url},
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
