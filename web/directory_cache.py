"""Anonymous directory pages answered again without GraphQL, and never stale.

What is cached: the bytes of an anonymous query whose only root fields are
`providers` (without availableFrom/availableTo) and whose selections stay inside
what a provider's row, plans, offices and open times show. Any other document,
any request with an Authorization header or `Cache-Control: no-cache`, and any
answer with errors go straight through.

Why it is never stale:
- Every change that can alter a listed provider bumps its availability_version
  in the same transaction (profile, hours, time off, booking, cancelling,
  rescheduling). Before each reuse the page's listing is run again, selecting
  only ids and versions: a booking or edit on any server process, a provider
  joining or leaving the page, shows as a different list, and the page is
  recomputed. That one indexed statement is all a reuse costs.
- Open times also move with the clock alone. While computing, the slot fields
  record when their answer next changes by time (the first shown slot passing
  inside the minimum notice, or the horizon reaching a new slot), and the entry
  expires then.
- As a backstop for changes made outside the API, an entry lives at most
  MAX_AGE_SECONDS.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)

import clock
from web.media import GRAPHQL_RESPONSE, JSON, negotiate

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SCOPE_KEY = "rapport.directory_cache"
HEADER = b"x-rapport-cache"
MAX_ENTRIES = 512
# Bytes kept in all, and in one answer: a page of 100 providers with weeks of
# open times is about 1 MB, and 512 of those would hold half a gigabyte.
MAX_BYTES = 32 * 1024 * 1024
MAX_ENTRY_BYTES = 512 * 1024
MAX_AGE_SECONDS = 60.0
MAX_BODY_BYTES = 100_000
_JSON_TYPES = (JSON.encode(), GRAPHQL_RESPONSE.encode())

# What each type may select and still be cached: (field -> type of its value).
_SLOT = {"startsAt": None, "endsAt": None, "formats": None, "__typename": None}
_PROVIDER = {
    "id": None,
    "name": None,
    "credentials": None,
    "bio": None,
    "specialties": None,
    "modalities": None,
    "languages": None,
    "licensedStates": None,
    "insurancePlans": {"id": None, "name": None, "payer": None, "__typename": None},
    "acceptingNewClients": None,
    "formats": None,
    "firstAppointment": None,
    "introCallMinutes": None,
    "sessionMinutes": None,
    "timezone": None,
    "offices": {"label": None, "address": None, "state": None, "__typename": None},
    "videoPlatform": None,
    "bufferMinutes": None,
    "minimumNoticeHours": None,
    "bookingHorizonDays": None,
    "slotStepMinutes": None,
    "availableSlots": _SLOT,
    "nextAvailableSlot": _SLOT,
    "__typename": None,
}
_CONNECTION = {
    "edges": {"cursor": None, "node": _PROVIDER, "__typename": None},
    "pageInfo": {
        "hasNextPage": None,
        "hasPreviousPage": None,
        "startCursor": None,
        "endCursor": None,
        "__typename": None,
    },
    "__typename": None,
}
_ROOT = {"providers": _CONNECTION, "__typename": None}


@dataclass(frozen=True)
class Check:
    """A page's listing run again: ids and versions, expected unchanged."""

    sql: str
    values: tuple[Any, ...]
    expected: tuple[tuple[int, int], ...]


@dataclass
class Recorder:
    """Filled by the resolvers while a cacheable request is computed."""

    checks: list[Check] = field(default_factory=list)
    expires_at: datetime | None = None
    refused: bool = False

    def listed(self, sql: str, values: list[Any], rows: list[tuple[int, int]]) -> None:
        self.checks.append(Check(sql, tuple(values), tuple(rows)))

    def changes_at(self, instant: datetime | None) -> None:
        """The answer may differ from this instant on, with no data changed."""
        if instant is not None and (
            self.expires_at is None or instant < self.expires_at
        ):
            self.expires_at = instant

    def refuse(self) -> None:
        """Something was read that no check covers: do not keep this answer."""
        self.refused = True


def recorder(ctx: Any) -> Recorder | None:
    """The recorder of the request behind this context, if it may be cached."""
    request = getattr(ctx, "request", None)
    scope = getattr(request, "scope", None)
    return scope.get(SCOPE_KEY) if isinstance(scope, dict) else None


@dataclass
class Entry:
    body: bytes
    headers: list[tuple[bytes, bytes]]
    checks: tuple[Check, ...]
    expires_at: datetime


class DirectoryCache:
    """ASGI wrapper for the GraphQL route: see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_entries: int = MAX_ENTRIES,
        max_age_seconds: float = MAX_AGE_SECONDS,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.app = app
        self.max_entries = max_entries
        self.max_age = timedelta(seconds=max_age_seconds)
        self.max_bytes = max_bytes
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_entries <= 0 or not _anonymous(scope):
            await self.app(scope, receive, send)
            return
        body, receive = await _buffered(scope, receive)
        request = _request(scope, body)
        if request is None:
            await self.app(scope, receive, send)
            return
        # The same page in the two media types differs only in its header.
        media = negotiate(_header(scope, b"accept"))
        key = orjson.dumps((media, request), option=orjson.OPT_SORT_KEYS)

        entry = self.entries.get(key)
        if entry is not None:
            if clock.now() < entry.expires_at and await _still_true(entry.checks):
                self.entries.move_to_end(key)
                await _reply(send, entry, b"hit")
                return
            self._drop(key)

        scope[SCOPE_KEY] = found = Recorder()
        reply = _Capture(send)
        await self.app(scope, receive, reply)
        if reply.cacheable() and _document_allows(request[0], request[1], found):
            self._keep(key, reply, found)

    def _keep(self, key: bytes, reply: _Capture, found: Recorder) -> None:
        body = reply.body
        if len(body) > min(MAX_ENTRY_BYTES, self.max_bytes):
            return
        if key in self.entries:
            self._drop(key)
        expires_at = clock.now() + self.max_age
        if found.expires_at is not None:
            expires_at = min(expires_at, found.expires_at)
        self.entries[key] = Entry(
            body=body,
            headers=[h for h in reply.headers if h[0].lower() == b"content-type"],
            checks=tuple(found.checks),
            expires_at=expires_at,
        )
        self.bytes += len(body)
        while len(self.entries) > self.max_entries or self.bytes > self.max_bytes:
            self._drop(next(iter(self.entries)))

    def _drop(self, key: bytes) -> None:
        self.bytes -= len(self.entries.pop(key).body)


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers") or ():
        if name.lower() == wanted:
            return value.decode("latin-1")
    return None


def _anonymous(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        name = name.lower()
        if name == b"authorization":
            return False
        if name == b"cache-control" and (b"no-cache" in value or b"no-store" in value):
            return False
    return scope.get("method") in ("GET", "POST")


async def _buffered(scope: Scope, receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a receive that hands it over again."""
    if scope.get("method") != "POST":
        return b"", receive
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            # The client left; let the app see what happened.
            return b"", _once(message, receive)
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if not message.get("more_body") or size > MAX_BODY_BYTES:
            break
    body = b"".join(chunks)
    more = bool(message.get("more_body"))
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return body, replay


def _once(message: Message, receive: Receive) -> Receive:
    """A receive that hands over this message first, then the real ones."""
    pending = [message]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _request(scope: Scope, body: bytes) -> tuple[str, str | None, Any] | None:
    """(query, operation name, variables) of a plain GraphQL request, or None."""
    if scope["method"] == "POST":
        if len(body) > MAX_BODY_BYTES:
            return None
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
    else:
        if any(
            name.lower() == b"accept" and b"text/html" in value
            for name, value in scope.get("headers") or ()
        ):
            return None  # a browser asking for GraphiQL
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        data = {name: values[0] for name, values in params.items()}
        if isinstance(data.get("variables"), str):
            try:
                data["variables"] = orjson.loads(data["variables"])
            except orjson.JSONDecodeError:
                return None
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return None
    if "providers" not in data["query"]:
        return None  # cheap: nothing else is ever cached
    operation = data.get("operationName")
    variables = data.get("variables")
    if operation is not None and not isinstance(operation, str):
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    return data["query"], operation, variables


async def _still_true(checks: tuple[Check, ...]) -> bool:
    from resolvers.loaders import reader

    async with reader() as read:
        for check in checks:
            rows = await read.rows(check.sql, check.values)
            if tuple((r[0], r[1]) for r in rows) != check.expected:
                return False
    return True


async def _reply(send: Send, entry: Entry, state: bytes) -> None:
    headers = [
        *entry.headers,
        (b"content-length", str(len(entry.body)).encode()),
        (HEADER, state),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": entry.body})


class _Capture:
    """Passes the response on, keeping a copy of a plain 200 answer."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.parts: list[bytes] = []
        self.complete = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers") or ())
            message = {**message, "headers": [*self.headers, (HEADER, b"miss")]}
        elif message["type"] == "http.response.body":
            self.parts.append(message.get("body", b""))
            self.complete = not message.get("more_body", False)
        await self.send(message)

    @property
    def body(self) -> bytes:
        return b"".join(self.parts)

    def cacheable(self) -> bool:
        # An answer with errors (bad input, a failure) is never kept.
        json = any(
            name.lower() == b"content-type"
            and value.split(b";")[0].strip() in _JSON_TYPES
            for name, value in self.headers
        )
        return (
            self.status == 200
            and json
            and self.complete
            and b'"errors"' not in self.body
        )


def _document_allows(query: str, operation: str | None, found: Recorder) -> bool:
    """Only providers root fields, selecting only what the checks cover."""
    if found.refused or not found.checks:
        return False
    try:
        document = parse(query)
    except GraphQLError:
        return False
    fragments = {
        d.name.value: d
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    operations = [
        d for d in document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    if operation is not None:
        operations = [o for o in operations if o.name and o.name.value == operation]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return False
    return _allowed(operations[0].selection_set, _ROOT, fragments, set())


def _allowed(
    selections: SelectionSetNode | None,
    allowed: dict[str, Any],
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> bool:
    if selections is None:
        return True
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name not in allowed:
                return False
            inner = allowed[name]
            if inner is None:
                if selection.selection_set is not None:
                    return False
            elif not _allowed(selection.selection_set, inner, fragments, seen):
                return False
        elif isinstance(selection, InlineFragmentNode):
            if not _allowed(selection.selection_set, allowed, fragments, seen):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                return False
            if not _allowed(
                fragments[name].selection_set, allowed, fragments, seen | {name}
            ):
                return False
    return True
