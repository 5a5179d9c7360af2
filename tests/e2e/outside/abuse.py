"""What a new user might throw at the live server, each refused in plain words.

Usage: python tests/e2e/outside/abuse.py http://127.0.0.1:8000/graphql

Sixty aliased copies of the directory query, a 5,000-field query, a 2 MB
body, a chunked body with no length, and malformed JSON: each must be
refused with a coded JSON error while a well-behaved client, asking at the
same time, keeps being served. Exits 1 otherwise.
"""

import asyncio
import sys
from collections.abc import AsyncIterator

import httpx

DIRECTORY = "{ providers(first: 5) { edges { node { name } } } }"
ALIASES = (
    "{ "
    + " ".join(f"d{i}: providers {{ edges {{ node {{ name }} }} }}" for i in range(60))
    + " }"
)
FIELDS = "{ insurancePlans { " + " ".join(["name"] * 5000) + " } }"
TWO_MB = b'{"query": "' + b" " * 2_000_000 + b'{ __typename }"}'
JSON = {"content-type": "application/json"}


async def chunked() -> AsyncIterator[bytes]:
    yield b'{"query": "'
    for _ in range(40):
        yield b" " * 50_000
    yield b'{ __typename }"}'


ATTEMPTS = [
    ("60 aliased directory queries", {"json": {"query": ALIASES}},
     200, "GRAPHQL_VALIDATION_FAILED"),
    ("a 5,000-field query", {"json": {"query": FIELDS}},
     200, "GRAPHQL_VALIDATION_FAILED"),
    ("a 2 MB body", {"content": TWO_MB, "headers": JSON}, 413, "BAD_USER_INPUT"),
    ("a 2 MB chunked body", {"content": "chunked", "headers": JSON},
     413, "BAD_USER_INPUT"),
    ("malformed JSON", {"content": b'{"query": "{ providers', "headers": JSON},
     400, "BAD_USER_INPUT"),
]  # fmt: skip


async def well_behaved(
    http: httpx.AsyncClient, url: str, stop: asyncio.Event
) -> list[int]:
    """Someone else using the directory all the while."""
    statuses = []
    while not stop.is_set():
        response = await http.post(url, json={"query": DIRECTORY})
        ok = response.status_code == 200 and "errors" not in response.json()
        statuses.append(200 if ok else response.status_code)
        await asyncio.sleep(0.01)
    return statuses


async def main(url: str) -> int:
    refused = 0
    async with httpx.AsyncClient(timeout=60) as http:
        stop = asyncio.Event()
        neighbour = httpx.AsyncClient(timeout=60)
        other = asyncio.create_task(well_behaved(neighbour, url, stop))
        for name, request, status, code in ATTEMPTS:
            if request.get("content") == "chunked":
                request = {**request, "content": chunked()}
            response = await http.post(url, **request)
            error = response.json()["errors"][0]
            held = (
                response.status_code == status
                and error["extensions"]["code"] == code
                and response.headers["content-type"] == "application/json"
            )
            refused += held
            verdict = "refused" if held else "NOT AS EXPECTED"
            print(
                f"abuse: {name}: {verdict}: HTTP {response.status_code} "
                f"{error['extensions']['code']}: {error['message'][:90]}"
            )
            # and straight after, someone else is served as usual
            served_after = await neighbour.post(url, json={"query": DIRECTORY})
            refused -= (
                served_after.status_code != 200 or "errors" in served_after.json()
            )
        stop.set()
        served = await other
        await neighbour.aclose()
        after = await http.post(url, json={"query": DIRECTORY})
    healthy = all(status == 200 for status in served) and after.status_code == 200
    print(
        f"abuse: {refused} of {len(ATTEMPTS)} refused as expected; "
        f"the other client was served {served.count(200)} of {len(served)} times"
    )
    return 0 if refused == len(ATTEMPTS) and healthy else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
