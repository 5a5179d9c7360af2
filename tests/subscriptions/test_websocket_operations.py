"""Queries, mutations and bad documents sent over a websocket, not HTTP.

One context serves every operation of a connection, so these check that
nothing one operation leaves behind (loaders, a viewer) reaches the next.
"""

import asyncio

import pytest
from websockets.exceptions import ConnectionClosed

import models
from tests.conftest import PASSWORD, gid, make_provider, make_user
from tests.subscriptions.support import LEGACY_WS, TRANSPORT_WS, WsClient
from tests.subscriptions.test_websockets import token_for, ws_url

PROVIDER_NAME = "query Name($id: ID!) { provider(id: $id) { name } }"

OFFICES = "query Offices($id: ID!) { provider(id: $id) { offices { label } } }"

VIEWER = "query { viewer { user { email } } }"

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { token user { email } }
}
"""

LOG_IN = """
mutation LogIn($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { user { email } }
}
"""


async def result_of(socket: WsClient, op_id: str, query: str, variables=None):
    await socket.subscribe(op_id, query, variables)
    payload = await socket.next_data()
    done = await socket.receive()
    assert done == {"id": op_id, "type": "complete"}, done
    return payload


async def test_a_document_that_does_not_parse_closes_with_its_reason(live_server):
    socket = await WsClient.open(ws_url(live_server), TRANSPORT_WS)
    await socket.init()

    await socket.subscribe("1", "subscription { inboxUpdated { id ")

    # then the protocol's 4400 with the syntax error, not a bare `complete`
    with pytest.raises(ConnectionClosed) as closed:
        await socket.receive()
    assert closed.value.rcvd.code == 4400
    assert "Syntax Error" in closed.value.rcvd.reason


async def test_a_document_that_does_not_parse_gets_a_coded_error_on_legacy_ws(
    live_server,
):
    socket = await WsClient.open(ws_url(live_server), LEGACY_WS)
    await socket.init()

    await socket.subscribe("1", "subscription { inboxUpdated { id ")
    reply = await socket.receive()

    assert (reply["id"], reply["type"]) == ("1", "error"), reply
    error = reply["payload"]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "Syntax Error" in error["message"]
    await socket.close()


async def test_a_query_on_the_legacy_protocol_is_refused_with_a_pointer(
    live_server,
):
    provider = await make_provider(name="Robin Lee")
    socket = await WsClient.open(ws_url(live_server), LEGACY_WS)
    await socket.init()

    await socket.subscribe("1", PROVIDER_NAME, {"id": gid("Provider", provider.id)})
    reply = await socket.receive()

    assert (reply["id"], reply["type"]) == ("1", "error"), reply
    error = reply["payload"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "graphql-transport-ws" in error["message"]
    assert "Traceback" not in str(reply)
    await socket.close()


async def test_a_second_query_on_one_socket_reads_fresh_data(live_server):
    # given a socket that has read a provider's offices once (through a loader)
    provider = await make_provider()
    variables = {"id": gid("Provider", provider.id)}
    socket = await WsClient.open(ws_url(live_server), TRANSPORT_WS)
    await socket.init()
    first = await result_of(socket, "1", OFFICES, variables)

    # when the provider opens an office
    await models.Office.create(
        provider=provider, label="Midtown", address="1 Main St", state="NY"
    )
    second = await result_of(socket, "2", OFFICES, variables)

    # then the same connection sees it
    assert first["data"]["provider"]["offices"] == []
    assert second["data"]["provider"]["offices"] == [{"label": "Midtown"}]
    await socket.close()


async def test_signing_up_on_a_socket_shows_the_account_but_leaves_it_anonymous(
    live_server,
):
    socket = await WsClient.open(ws_url(live_server), TRANSPORT_WS)
    await socket.init()
    sign_up = {
        "email": "ws.person@example.test",
        "password": PASSWORD,
        "name": "Socket Person",
        "role": "CLIENT",
        "timezone": "Europe/Berlin",
    }

    signed_up = await result_of(socket, "1", SIGN_UP, {"input": sign_up})
    viewer = await result_of(socket, "2", VIEWER)

    # the new account sees its own email, yet the socket was never
    # authenticated as it (logOut could not reach it), so it stays anonymous
    assert signed_up["data"]["signUp"]["user"]["email"] == "ws.person@example.test"
    assert viewer == {"data": {"viewer": None}}
    await socket.close()


async def test_logging_in_on_a_socket_does_not_change_whom_it_serves(live_server):
    # given a socket authenticated as one client
    me = await make_user(name="Me", email="me@example.test")
    other = await make_user(name="Other", email="other@example.test")
    socket = await WsClient.open(ws_url(live_server), TRANSPORT_WS)
    await socket.init(await token_for(me))

    # when the other account's credentials are used on it
    logged_in = await result_of(
        socket, "1", LOG_IN, {"email": other.email, "password": PASSWORD}
    )
    viewer = await result_of(socket, "2", VIEWER)

    # then logIn answers for the other account, and the socket is still mine
    assert logged_in["data"]["logIn"]["user"]["email"] == "other@example.test"
    assert viewer["data"]["viewer"]["user"]["email"] == "me@example.test"
    await socket.close()


@pytest.mark.parametrize(
    "frame",
    [
        [1],
        {"type": "subscribe", "id": "1", "payload": [1]},
        {"type": "subscribe", "id": "1", "payload": {"query": 5}},
        {
            "type": "subscribe",
            "id": "1",
            "payload": {"query": "{ a }", "variables": [1]},
        },
        {"type": "subscribe", "id": 1, "payload": {"query": "{ __typename }"}},
    ],
)
async def test_a_malformed_frame_closes_with_4400_and_a_reason(live_server, frame):
    socket = await WsClient.open(ws_url(live_server), TRANSPORT_WS)
    await socket.init()

    await socket.send(frame)

    with pytest.raises(ConnectionClosed) as closed:
        await socket.receive()
    assert closed.value.rcvd.code == 4400
    assert closed.value.rcvd.reason.startswith("expected")


@pytest.mark.parametrize(
    "payload", [[1], {"query": 5}, {"query": "{ a }", "variables": [1]}]
)
async def test_a_malformed_start_on_the_legacy_protocol_gets_a_coded_error(
    live_server, payload
):
    socket = await WsClient.open(ws_url(live_server), LEGACY_WS)
    await socket.init()

    await socket.send({"type": "start", "id": "1", "payload": payload})
    reply = await socket.receive()

    assert (reply["id"], reply["type"]) == ("1", "error")
    assert reply["payload"]["extensions"]["code"] == "BAD_USER_INPUT"
    # and the connection still serves
    provider = await make_provider()
    await socket.subscribe(
        "2",
        "subscription($id: ID!) { availabilityChanged(providerId: $id) { id } }",
        {"id": gid("Provider", provider.id)},
    )
    with pytest.raises(asyncio.TimeoutError):
        await socket.receive(timeout=0.3)  # listening, nothing to say yet
    await socket.close()


async def test_the_operation_limit_of_a_connection_is_a_coded_error(live_server):
    socket = await WsClient.open(ws_url(live_server), TRANSPORT_WS)
    await socket.init()
    provider = await make_provider()
    live = "subscription($id: ID!) { availabilityChanged(providerId: $id) { id } }"

    for n in range(101):
        await socket.subscribe(str(n), live, {"id": gid("Provider", provider.id)})
    refusal = await socket.receive()

    assert (refusal["id"], refusal["type"]) == ("100", "error")
    error = refusal["payload"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "complete some" in error["message"]
    await socket.close()
