"""The protocol handlers' own checks, without a socket."""

import pytest
from starlette.websockets import WebSocketDisconnect

from subscriptions.protocols import _log_task_failure, operation_problem


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"query": "{ a }"}, None),
        ({"query": "{ a }", "variables": None, "operationName": None}, None),
        (None, "object with a query"),
        ({"query": None}, "query to be a string"),
        ({"query": "{ a }", "variables": "x"}, "variables to be an object"),
        ({"query": "{ a }", "operationName": 5}, "operationName to be a string"),
    ],
)
def test_an_operation_payload_is_checked_before_strawberry_reads_it(payload, problem):
    found = operation_problem(payload)

    assert found == problem if problem is None else problem in found


async def test_a_client_gone_mid_delivery_is_not_logged_as_an_error():
    logged = []

    async def log_as_error(error):
        logged.append(error)

    await _log_task_failure(WebSocketDisconnect(1006), log_as_error)
    await _log_task_failure(KeyError("a real bug"), log_as_error)

    assert [type(e) for e in logged] == [KeyError]
