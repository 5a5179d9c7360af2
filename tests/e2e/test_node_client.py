"""The npm graphql-ws client, as browsers and Node services use it, subscribed
on one server process while messages go through the other."""

import asyncio
import json
import os
import shutil
import time
from typing import Any

import pytest

from tests.e2e.cluster import ROOT
from tests.e2e.conftest import Practice

NODE_DIR = ROOT / "tests" / "e2e" / "node"


def node_binary() -> str:
    node = shutil.which("node")
    if os.environ.get("RAPPORT_REQUIRE_SERVICES") != "1" or node is None:
        pytest.skip("runs in CI's services pass, where node is installed")
    if not (NODE_DIR / "node_modules" / "graphql-ws").is_dir():
        pytest.fail("run `npm ci` in tests/e2e/node first (.ci/run does)")
    return node


class NodeSubscriber:
    """tests/e2e/node/subscribe.mjs, read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, *args: str) -> "NodeSubscriber":
        process = await asyncio.create_subprocess_exec(
            node_binary(),
            str(NODE_DIR / "subscribe.mjs"),
            *args,
            cwd=NODE_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def line(self, timeout: float = 10.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            stderr = await self.process.stderr.read() if self.process.stderr else b""
            raise AssertionError(f"node exited: {stderr.decode(errors='replace')}")
        return json.loads(raw)

    async def exit_code(self, timeout: float = 10.0) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout)

    def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def test_a_graphql_ws_client_receives_messages_sent_through_the_other_process(
    practice: Practice, capsys
):
    # given a provider subscribed through the Node client on server 1
    node_binary()
    pair = await practice.new_pair()
    cursor = await practice.send(1, pair.client, pair.thread_id, "before")
    node = await NodeSubscriber.start(
        practice.cluster.servers[0].ws, pair.provider.token, pair.thread_id, cursor, "2"
    )
    try:
        assert (await node.line())["event"] == "connected"

        # when the client sends twice through server 2
        await practice.send(1, pair.client, pair.thread_id, "first")
        first = await node.line()
        sent_at = time.time() * 1000
        await practice.send(1, pair.client, pair.thread_id, "second")
        second = await node.line()

        # then both arrive, in order, and the client is done
        assert (first["event"], first["body"]) == ("message", "first")
        assert (second["event"], second["body"]) == ("message", "second")
        assert await node.exit_code() == 0
    finally:
        node.stop()
    with capsys.disabled():
        print(f"\n[e2e] graphql-ws (Node): {second['at'] - sent_at:.1f} ms")


async def test_a_graphql_ws_client_of_a_third_user_is_refused(practice: Practice):
    pair = await practice.new_pair()
    outsider_token, _ = await practice.cluster.sign_up(0)

    node = await NodeSubscriber.start(
        practice.cluster.servers[0].ws, outsider_token, pair.thread_id, "", "1"
    )
    try:
        assert (await node.line())["event"] == "connected"
        refusal = await node.line()
        assert await node.exit_code() == 1
    finally:
        node.stop()

    assert refusal["event"] == "error"
    assert refusal["errors"][0]["extensions"]["code"] == "FORBIDDEN"
