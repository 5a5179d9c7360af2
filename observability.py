"""Logs (request ids, JSON, redaction) and Prometheus metrics for the app."""

from __future__ import annotations

import errno
import json
import logging
import re
import secrets
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from graphql import FieldNode, GraphQLSyntaxError, OperationDefinitionNode
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from settings import Settings

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------
# Request context


@dataclass
class RequestInfo:
    """What one request or websocket is, for its log lines and metrics."""

    request_id: str
    operations: list[str] = field(default_factory=list)
    outcome: str | None = None


_current: ContextVar[RequestInfo | None] = ContextVar("rapport_request", default=None)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def new_request_id(offered: str | None = None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a fresh one."""
    if offered and _REQUEST_ID.match(offered):
        return offered
    return secrets.token_hex(8)


def begin_request(request_id: str) -> RequestInfo:
    info = RequestInfo(request_id=request_id)
    _current.set(info)
    return info


def current_request() -> RequestInfo | None:
    return _current.get()


def current_request_id() -> str | None:
    info = _current.get()
    return info.request_id if info else None


# ---------------------------------------------------------------------------
# Redaction: what must never reach a log line, whoever logs it.

REDACTED = "[redacted]"

_SCRUBBERS: tuple[tuple[re.Pattern[str], str], ...] = (
    # graphql-core quotes the document around an error ("2 | <the line>"),
    # and a block string can hold a whole message body.
    (re.compile(r"(?m)^(\s*\d+ \| ).+$"), r"\1" + REDACTED),
    (re.compile(r'"""[\s\S]*?(?:"""|\Z)'), '"""' + REDACTED + '"""'),
    # Our bearer tokens are JWTs; any JWT-shaped string goes.
    (re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]+"), REDACTED),
    (re.compile(r"(?i)\b(bearer)\s+[^\s'\",}]+"), r"\1 " + REDACTED),
    # A calendar feed's path is its credential.
    (
        re.compile(r"/calendar/[^/\s'\"?]+?\.ics", re.IGNORECASE),
        "/calendar/" + REDACTED + ".ics",
    ),
    # GET /graphql carries the document and variables in the query string.
    (re.compile(r"(/graphql)\?[^\s'\"]*"), r"\1?" + REDACTED),
    (
        re.compile(
            r"(?i)([\"']?(?:password|token|secret|body)[\"']?\s*[:=]\s*)"
            r"(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s,}]+)"
        ),
        r"\1" + REDACTED,
    ),
    # Connection URLs: keep scheme and host, never the password.
    (re.compile(r"(\w+://[^:/\s@]+):[^@\s/]+@"), r"\1:" + REDACTED + "@"),
    # An address ends in a top-level domain of letters; "graphiql@4.0.2" in
    # an asset path is a package version, left readable.
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"), "[email]"),
)


def describe_url(url: str) -> str:
    """A connection URL without its user, password or options."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def scrub(text: str) -> str:
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


# Libraries that log query values, websocket frames or request bodies at
# DEBUG: their DEBUG lines are dropped, whatever LOG_LEVEL says.
_CHATTY_LIBRARIES = frozenset(
    {
        "aiosqlite",
        "asyncpg",
        "broadcaster",
        "h11",
        "httpcore",
        "httpx",
        "multipart",
        "python_multipart",
        "redis",
        "strawberry",
        "websockets",
        "wsproto",
    }
)


# uvicorn's websocket protocol traces every frame at DEBUG under its own
# logger ("< TEXT '{...}' [191 bytes]"), cut to a head and a tail that no
# key-based scrubber can read: a password or message body can sit in either.
_FRAME_TRACE = re.compile(r"[<>] (?:TEXT|BINARY|CONT|PING|PONG|CLOSE)\b")


class RedactFilter(logging.Filter):
    """Scrubs every record on its way out: tokens, secrets, bodies, passwords."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.DEBUG:
            return False  # TRACE dumps whole requests
        top = record.name.split(".", 1)[0]
        if record.levelno < logging.INFO and top in _CHATTY_LIBRARIES:
            return False
        if record.name == "tortoise.db_client" and record.args:
            # "%s: %s" (sql, values): keep the statement, never the values.
            first = record.args[0] if isinstance(record.args, tuple) else ""
            record.msg, record.args = "%s: " + REDACTED, (str(first),)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        if record.levelno < logging.INFO and _FRAME_TRACE.match(message):
            return False
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        info = _current.get()
        record.request_id = info.request_id if info else "-"
        return True


# Fields our own log calls pass through `extra=`, copied into JSON lines.
LOG_FIELDS = (
    "method",
    "path",
    "status",
    "duration_ms",
    "operation",
    "outcome",
    "bytes",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for name in LOG_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def make_handler(settings: Settings, stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter() if settings.log_json else logging.Formatter(TEXT_FORMAT)
    )
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactFilter())
    handler._rapport = True  # type: ignore[attr-defined]
    return handler


def configure_logging(settings: Settings, stream: Any = None) -> logging.Handler:
    """One handler on the root logger; uvicorn's loggers go through it too."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_rapport", False)]:
        root.removeHandler(old)
    handler = make_handler(settings, stream)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())

    # uvicorn installs its own handlers before importing the app; route its
    # records through ours so they are redacted and formatted alike.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    access = logging.getLogger("uvicorn.access")
    if not settings.uvicorn_access_log:
        access.setLevel(logging.WARNING)
    return handler


# ---------------------------------------------------------------------------
# Failures of what we depend on, told apart from our own bugs.

UNAVAILABLE_MESSAGE = "The service is briefly unavailable; try again in a moment."

_UNREACHABLE_NAMES = frozenset(
    {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "InterfaceError",
        "ConnectionError",
        "DBConnectionError",
        # pg_terminate_backend, a server shutting down or crashing
        "AdminShutdownError",
        "CrashShutdownError",
        "OperatorInterventionError",
    }
)
# asyncpg's word for a connection that broke under a query: the next one
# finds it still "busy" with the query that never finished.
_BROKEN_CONNECTION = re.compile(r"another operation( \(\d+\))? is in progress")


_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)


def dependency_is_down(error: BaseException) -> bool:
    """The database or broker cannot be reached, rather than a bug of ours."""
    for cause in _chain(error):
        if isinstance(cause, (ConnectionError, TimeoutError, socket.gaierror)):
            return True
        if isinstance(cause, OSError) and cause.errno in _NETWORK_ERRNOS:
            return True
        if type(cause).__name__ in _UNREACHABLE_NAMES:
            return True
        if type(cause).__name__ == "InternalClientError" and (
            _BROKEN_CONNECTION.search(str(cause))
        ):
            return True
    return False


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


# ---------------------------------------------------------------------------
# Metrics

REGISTRY = CollectorRegistry(auto_describe=True)


OPERATIONS = Counter(
    "rapport_graphql_operations",
    "GraphQL operations by root field and outcome (the first error's code).",
    ["type", "operation", "outcome"],
    registry=REGISTRY,
)
OPERATION_SECONDS = Histogram(
    "rapport_graphql_operation_duration_seconds",
    "Time to run a query or mutation, by root field.",
    ["type", "operation"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_REQUESTS = Counter(
    "rapport_http_requests",
    "HTTP requests by route and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "rapport_http_request_duration_seconds",
    "HTTP request latency by route.",
    ["route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBSOCKETS = Gauge(
    "rapport_websocket_connections",
    "Websocket connections open now.",
    registry=REGISTRY,
)
SUBSCRIPTIONS = Gauge(
    "rapport_subscriptions_active",
    "GraphQL subscriptions running now, by root field.",
    ["operation"],
    registry=REGISTRY,
)
REFUSED = Counter(
    "rapport_requests_refused",
    "Requests refused before GraphQL ran (too large, malformed, wrong method).",
    ["reason"],
    registry=REGISTRY,
)


class BrokerCollector(Collector):
    """Read the broker's own counters at scrape time, whatever it exposes."""

    def collect(self) -> Iterator[Any]:
        backend = _redis_backend()
        reconnects = _number(getattr(backend, "reconnects_total", 0))
        counter = CounterMetricFamily(
            "rapport_broker_reconnects",
            "Reconnections of the broker's subscriber connection.",
        )
        counter.add_metric([], reconnects)
        yield counter

        live = _number(_live_subscriptions(backend))
        gauge = GaugeMetricFamily(
            "rapport_broker_subscriptions",
            "Channel subscriptions the broker holds for this process.",
        )
        gauge.add_metric([], live)
        yield gauge


_LIVE_NAMES = (
    "live_subscriptions",
    "live_subscription_count",
    "subscription_count",
    "active_subscriptions",
)


def _live_subscriptions(backend: Any) -> Any:
    """The broker's count of listening subscriptions, wherever it keeps it."""
    try:
        from subscriptions import broker
    except ImportError:  # pragma: no cover - the module ships with the app
        return 0
    count = getattr(getattr(broker, "_broadcast", None), "subscription_count", None)
    if callable(count):
        return count
    return _first_attr(backend, _LIVE_NAMES)


def _redis_backend() -> Any:
    try:
        from subscriptions import redis_backend
    except ImportError:  # pragma: no cover - the module ships with the app
        return None
    return redis_backend


def _first_attr(owner: Any, names: Iterable[str]) -> Any:
    for name in names:
        value = getattr(owner, name, None)
        if value is not None:
            return value
    return 0


def _number(value: Any) -> float:
    try:
        value = value() if callable(value) else value
        return float(value or 0)
    except Exception:  # a scrape must never fail on a broker hiccup
        logger.warning("Broker metric unavailable", exc_info=True)
        return 0.0


REGISTRY.register(BrokerCollector())
ProcessCollector(registry=REGISTRY)


def render_metrics() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _root_field(execution_context: Any) -> tuple[str, str]:
    """("query", "providers"): bounded labels from the schema, not the client."""
    document = execution_context.graphql_document
    try:
        kind = execution_context.operation_type.value
    except Exception:
        return "unknown", "unknown"
    schema = execution_context.schema._schema
    root = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }[kind]
    fields = set(root.fields) if root is not None else set()
    fields |= {"__schema", "__type", "__typename"}
    wanted = execution_context.operation_name
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if wanted and (definition.name is None or definition.name.value != wanted):
            continue
        names = sorted(
            selection.name.value
            for selection in definition.selection_set.selections
            if isinstance(selection, FieldNode) and selection.name.value in fields
        )
        # Several root fields in one document: label by the first, so label
        # values stay the schema's own, whatever the client sends.
        return kind, names[0] if names else "unknown"
    return kind, "unknown"


def _outcome(execution_context: Any) -> str:
    result = execution_context.result
    errors = getattr(result, "errors", None) or execution_context.pre_execution_errors
    if not errors:
        return "OK"
    # Imported here: the schema package imports this module.
    from schema.errors import API_CODES

    code = (errors[0].extensions or {}).get("code")
    return code if code in API_CODES else "INTERNAL"


class OperationObserver(SchemaExtension):
    """Counts, times and names every GraphQL operation; tracks subscriptions."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        self._subscription: str | None = None
        refused: str | None = None
        try:
            yield
        except GraphQLSyntaxError as error:
            # Raised past the schema's error handling: the token limit, or a
            # document that does not parse.
            limit = "tokens" in error.message
            refused = "GRAPHQL_VALIDATION_FAILED" if limit else "GRAPHQL_PARSE_FAILED"
            raise
        except Exception:
            # Strawberry's own refusals (a mutation over GET, no query).
            refused = "BAD_USER_INPUT"
            raise
        finally:
            if self._subscription is not None:
                SUBSCRIPTIONS.labels(self._subscription).dec()
            self._record(time.perf_counter() - started, refused)

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        try:
            is_subscription = context.operation_type == OperationType.SUBSCRIPTION
        except Exception:
            is_subscription = False
        if is_subscription:
            self._subscription = _root_field(context)[1]
            SUBSCRIPTIONS.labels(self._subscription).inc()
        yield

    def _record(self, seconds: float, refused: str | None) -> None:
        context = self.execution_context
        kind, operation = _root_field(context)
        outcome = refused or _outcome(context)
        OPERATIONS.labels(kind, operation, outcome).inc()
        if kind != "subscription":
            OPERATION_SECONDS.labels(kind, operation).observe(seconds)
        info = _current.get()
        if info is not None:
            info.operations.append(f"{kind}:{operation}")
            if info.outcome in (None, "OK"):
                info.outcome = outcome
        logger.debug(
            "Operation type=%s operation=%s outcome=%s duration_ms=%.1f",
            kind,
            operation,
            outcome,
            seconds * 1000,
        )


async def metrics_endpoint(request: Any) -> Any:
    """GET /metrics in the Prometheus text format."""
    from starlette.responses import Response

    body, content_type = render_metrics()
    return Response(body, media_type=content_type)
