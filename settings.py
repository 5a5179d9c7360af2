"""Configuration read from the environment (pydantic-settings)."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

DEVELOPMENT_SECRET = "rapport-development-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "sqlite://rapport.db"
    redis_url: str | None = None
    secret_key: str = DEVELOPMENT_SECRET
    # Unset: where this process listens (HOST, PORT), which is right for
    # one process on one machine; set it behind a proxy or load balancer.
    public_base_url: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    token_ttl_hours: int = 24 * 7
    seed_demo_data: bool = True
    graphiql: bool = True
    introspection: bool = True
    log_json: bool = False
    log_level: str = "INFO"
    # One line per request from our middleware (request id, operation,
    # duration); uvicorn's own access line is off unless asked for, and
    # redacted either way.
    access_log: bool = True
    uvicorn_access_log: bool = False
    metrics_enabled: bool = True
    # permessage-deflate on websockets: two zlib contexts per connection for
    # chat frames of a few hundred bytes; off unless asked for.
    ws_compression: bool = False
    # How long start-up waits for the database before exiting non-zero.
    database_start_timeout_seconds: float = 30.0

    # Security limits (API.md defaults).
    max_query_depth: int = 12
    max_aliases: int = 15
    max_tokens: int = 2000
    max_body_bytes: int = 1_000_000
    max_page_size: int = 100

    # Throttles: attempts per window; raised by tests and benchmarks.
    login_attempts_per_email: int = 10
    login_attempts_per_address: int = 50
    login_window_seconds: int = 300
    messages_per_minute: int = 60
    # signUp answers CONFLICT for a taken email (API.md) and hashes a password
    # each time: bounded per address, so neither is a cheap probe.
    signups_per_address: int = 20
    signup_window_seconds: int = 3600
    # Addresses or networks (CIDR) of proxies allowed to name the client in
    # X-Forwarded-For; anyone else's header is ignored.
    trusted_proxies: list[str] = Field(default_factory=list)

    @property
    def base_url(self) -> str:
        """The absolute URL clients reach this API at, without a trailing /."""
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def is_production(self) -> bool:
        return self.env.lower() == "production"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def problems_for_production(self) -> list[str]:
        """What keeps this configuration from being safe with many processes."""
        problems = []
        if self.secret_key == DEVELOPMENT_SECRET:
            problems.append("SECRET_KEY is the development default")
        if not self.redis_url:
            problems.append(
                "REDIS_URL is unset: the in-process broker would split "
                "subscribers across server processes"
            )
        if self.uses_sqlite:
            problems.append("DATABASE_URL is SQLite: use PostgreSQL in production")
        return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()


@contextmanager
def override_settings(**changes: Any) -> Iterator[Settings]:
    """Change fields of the cached Settings for a block (tests, benchmarks)."""
    settings = get_settings()
    unknown = set(changes) - set(Settings.model_fields)
    assert not unknown, f"expected Settings fields, got {sorted(unknown)}"
    saved = {name: getattr(settings, name) for name in changes}
    for name, value in changes.items():
        setattr(settings, name, value)
    try:
        yield settings
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)
