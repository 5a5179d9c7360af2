"""Production refuses a configuration that would lose data or split events."""

import pytest

from app import check_production
from settings import Settings

SAFE = {
    "env": "production",
    "secret_key": "a-real-secret",
    "redis_url": "redis://127.0.0.1:6379/0",
    "database_url": "postgres://rapport@127.0.0.1:5432/rapport",
}


@pytest.mark.parametrize(
    "unsafe",
    [
        {"secret_key": "rapport-development-secret-change-me"},
        {"redis_url": None},
        {"database_url": "sqlite://rapport.db"},
    ],
)
def test_production_refuses_to_start_with_an_unsafe_setting(unsafe):
    settings = Settings(**{**SAFE, **unsafe})

    with pytest.raises(SystemExit) as stopped:
        check_production(settings)

    assert stopped.value.code == 2


def test_production_starts_with_safe_settings():
    check_production(Settings(**SAFE))


def test_development_starts_on_embedded_defaults():
    check_production(Settings(env="development", redis_url=None))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"port": 8101}, "http://127.0.0.1:8101"),
        ({"host": "0.0.0.0", "port": 9000}, "http://127.0.0.1:9000"),
        ({"host": "::1", "port": 9000}, "http://[::1]:9000"),
        (
            {"port": 8101, "public_base_url": "https://api.example.org/"},
            "https://api.example.org",
        ),
    ],
)
def test_absolute_urls_name_where_clients_reach_the_api(given, expected):
    assert Settings(**given).base_url == expected
