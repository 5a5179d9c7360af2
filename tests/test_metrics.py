"""GET /metrics: operations by outcome, latencies, websockets, subscriptions."""

import os
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from tests.e2e.cluster import ServerProcess
from tests.subscriptions.support import WsClient, until

DIRECTORY = "query LooksLikeAnythingTheClientWants { providers { edges { cursor } } }"
SIGN_UP = """
mutation SignUp($input: SignUpInput!) { signUp(input: $input) { token } }
"""
INBOX = "subscription { inboxUpdated { id } }"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def samples(text: str) -> dict[tuple[str, tuple], float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(http: httpx.AsyncClient) -> str:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return response.text


async def test_operations_are_counted_by_root_field_and_outcome(http):
    # given
    before = await scrape(http)

    # when
    await http.post("/graphql", json={"query": DIRECTORY})
    await http.post("/graphql", json={"query": "mutation { logOut }"})
    await http.post("/graphql", json={"query": "{ nope }"})
    after = await scrape(http)

    # then the labels are the schema's names, never what the client chose
    def delta(**labels: str) -> float:
        name = "rapport_graphql_operations_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(type="query", operation="providers", outcome="OK") == 1
    assert delta(type="mutation", operation="logOut", outcome="UNAUTHENTICATED") == 1
    assert (
        delta(type="query", operation="unknown", outcome="GRAPHQL_VALIDATION_FAILED")
        == 1
    )
    assert "LooksLikeAnythingTheClientWants" not in after
    latency = "rapport_graphql_operation_duration_seconds_count"
    assert value(after, latency, type="query", operation="providers") >= 1


async def test_http_requests_are_counted_by_route_and_status(http):
    before = await scrape(http)

    await http.get("/healthz")
    await http.post(
        "/graphql", content=b"{", headers={"content-type": "application/json"}
    )
    after = await scrape(http)

    name = "rapport_http_requests_total"
    assert (
        value(after, name, method="GET", route="/healthz", status="200")
        - value(before, name, method="GET", route="/healthz", status="200")
        == 1
    )
    assert (
        value(after, name, method="POST", route="/graphql", status="400")
        - value(before, name, method="POST", route="/graphql", status="400")
        == 1
    )
    assert (
        value(after, "rapport_http_request_duration_seconds_count", route="/healthz")
        >= 1
    )


async def test_the_broker_gauges_are_exported(http):
    text = await scrape(http)

    names = {key[0] for key in samples(text)}
    assert "rapport_broker_reconnects_total" in names
    assert "rapport_broker_subscriptions" in names
    assert "rapport_websocket_connections" in names


@pytest.fixture
def server(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite://{tmp_path}/metrics.db",
        "SEED_DEMO_DATA": "false",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "LOG_LEVEL": "warning",
    }
    for name in ("REDIS_URL", "RAPPORT_REQUIRE_SERVICES"):
        env.pop(name, None)
    process = ServerProcess(env=env, log_path=tmp_path / "server.log")
    process.start()
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


async def test_websockets_and_subscriptions_are_gauged_while_open(server):
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        body = await http.post(
            "/graphql",
            json={
                "query": SIGN_UP,
                "variables": {
                    "input": {
                        "email": "gauge@example.test",
                        "password": "long enough",
                        "name": "Gauge",
                        "role": "CLIENT",
                        "timezone": "UTC",
                    }
                },
            },
        )
        token = body.json()["data"]["signUp"]["token"]

        async def gauges() -> tuple[float, float, float]:
            text = (await http.get("/metrics")).text
            return (
                value(text, "rapport_websocket_connections"),
                value(text, "rapport_subscriptions_active", operation="inboxUpdated"),
                value(text, "rapport_broker_subscriptions"),
            )

        idle = await gauges()
        socket = await WsClient.open(server.ws)
        await socket.init(token)
        await socket.subscribe("1", INBOX)
        busy = await until(
            lambda: _when(gauges(), lambda g: g[1] == 1 and g[2] >= idle[2] + 1)
        )
        socket.drop()  # no complete, no close frame
        after = await until(lambda: _when(gauges(), lambda g: g == idle))

    assert idle[:2] == (0, 0)
    assert busy[0] == 1
    assert after == idle


async def _when(pending, condition):
    result = await pending
    return result if condition(result) else None
