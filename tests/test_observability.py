"""What counts as a dependency being down, rather than a bug of ours."""

import asyncpg
import pytest

from observability import dependency_is_down


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
    ],
)
def test_a_broken_or_terminated_database_connection_is_a_dependency_down(error):
    assert dependency_is_down(error)


@pytest.mark.parametrize(
    "error",
    [KeyError("x"), asyncpg.exceptions.InternalClientError("some other state")],
)
def test_our_own_bugs_are_not_blamed_on_the_database(error):
    assert not dependency_is_down(error)
