"""The Starlette app: GraphQL over HTTP and websockets, health, lifespan."""

import asyncio
import gc
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from tortoise import connections

import database
import observability
from middleware import RequestMiddleware, StartupFailed
from resolvers import auth
from resolvers.calendar_feed import calendar_feed
from schema import build_schema
from schema.context import Context
from schema.errors import Unauthenticated
from settings import Settings, get_settings
from subscriptions import broker, sessions
from subscriptions.protocols import LegacyWSHandler, TransportWSHandler
from web.directory_cache import DirectoryCache
from web.graphiql import OfflineGraphiQLMixin, static_route
from web.media import JSON, failed_before_execution, negotiate

logger = logging.getLogger(__name__)


class GraphQLApp(OfflineGraphiQLMixin, GraphQL):
    """Strawberry's ASGI app with our context, auth and JSON encoder."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    async def get_context(self, request: Any, response: Any = None) -> Context:
        ctx = Context(request=request)
        ctx.response = response
        if isinstance(request, WebSocket):
            return ctx  # the token arrives in connection_init
        try:
            token = auth.bearer_token(request.headers.get("authorization"))
            if token is not None:
                ctx.viewer, ctx.session_id = await auth.authenticate(token)
        except Unauthenticated as error:
            ctx.auth_error = error
        return ctx

    async def on_ws_connect(self, context: Context) -> Any:
        params = context.connection_params or {}
        if not isinstance(params, dict):
            raise ConnectionRejectionError({"message": "expected an object payload"})
        header = next(
            (v for k, v in params.items() if str(k).lower() == "authorization"),
            None,
        )
        if header is not None and not isinstance(header, str):
            # A token object or a number is a client bug: say so, rather
            # than serve the socket anonymously.
            raise ConnectionRejectionError(
                {"message": "expected authorization to be 'Bearer <token>'"}
            )
        try:
            token = auth.bearer_token(header)
            if token is not None:
                context.viewer, context.session_id = await auth.authenticate(token)
        except Unauthenticated as error:
            raise ConnectionRejectionError({"message": error.message}) from None
        await sessions.track(context)
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if scope["type"] == "websocket":
                sessions.untrack(scope)

    async def get_sub_response(self, request: Any) -> Response:
        sub_response = await super().get_sub_response(request)
        # Chosen once per request; process_result reads it from the request.
        request.state.media_type = negotiate(request.headers.get("accept"))
        sub_response.media_type = request.state.media_type
        return sub_response

    async def process_result(self, request: Any, result: Any) -> Any:
        data = await super().process_result(request, result)
        refused = (
            isinstance(data, dict)
            and result.data is None
            and failed_before_execution(data.get("errors") or ())
        )
        if refused and request.state.media_type != JSON:
            del data["data"]  # nothing ran, so there is no data entry at all
        return data

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type != JSON:
            response.headers["content-type"] = sub_response.media_type
            if isinstance(response_data, dict) and "data" not in response_data:
                response.status_code = 400
        return response

    def decode_json(self, data: str | bytes) -> object:
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            # Strawberry answers this one with 400 (the middleware makes it JSON).
            raise json.JSONDecodeError(str(error), "", 0) from None
        if not isinstance(decoded, dict | list):
            raise json.JSONDecodeError("expected a JSON object", "", 0)
        return decoded

    def encode_json(self, data: object) -> str:
        # A str, not bytes: bytes would go out as binary websocket frames.
        return orjson.dumps(data).decode()


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    checks = {"database": False, "broker": False}
    try:
        await connections.get("default").execute_query("SELECT 1")
        checks["database"] = True
    except Exception:
        logger.warning("Readiness check failed part=database", exc_info=True)
    checks["broker"] = await broker.is_healthy()
    status = 200 if all(checks.values()) else 503
    return JSONResponse({"ready": status == 200, **checks}, status_code=status)


def check_production(settings: Settings) -> None:
    problems = settings.problems_for_production() if settings.is_production else []
    if problems:
        for problem in problems:
            logger.critical("Refusing to start in production: %s", problem)
        raise SystemExit(2)
    if settings.secret_key == "rapport-development-secret-change-me":
        logger.warning("SECRET_KEY is the development default: tokens are forgeable")
    if settings.is_production and not settings.public_base_url:
        logger.warning(
            "PUBLIC_BASE_URL is unset: calendar feed URLs will name %s",
            settings.base_url,
        )


async def open_database_at_start(settings: Settings) -> None:
    """Connect and migrate, or stop start-up with a message a person can act on."""
    timeout = settings.database_start_timeout_seconds
    try:
        if settings.uses_sqlite:
            # tortoise waits forever on a SQLite file it cannot open; ask first.
            path = settings.database_url.removeprefix("sqlite://").split("?")[0]
            sqlite3.connect(path).close()
        await asyncio.wait_for(database.open_database(settings.database_url), timeout)
    except Exception as error:
        reason = str(error).strip() or f"no answer within {timeout:g} seconds"
        where = observability.describe_url(settings.database_url)
        raise StartupFailed(
            f"Cannot reach the database at {where} ({type(error).__name__}: "
            f"{observability.scrub(reason)}). Check DATABASE_URL and that the "
            "database is running; not starting without it."
        ) from None


# Young-generation threshold: CPython's 700 collects every few requests, and
# with thousands of websockets each full pass walks every connection's objects.
GC_THRESHOLDS = (50_000, 20, 20)


def settle_collector() -> None:
    """After start-up: keep what start-up built out of every collection.

    With ~2,000 subscribers, collections of the whole heap paused delivery for
    hundreds of milliseconds (shared/LIBRARIES.md); frozen start-up objects and
    a larger young generation make collections rarer and smaller.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    check_production(settings)
    schema = build_schema(settings)
    graphql = GraphQLApp(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allowed_origins=settings.cors_origins,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await open_database_at_start(settings)
        if settings.seed_demo_data:
            from demo import seed_demo_data

            if await seed_demo_data():
                logger.info("Seeded demo data into an empty database")
        await broker.start_broker(settings.redis_url)
        revocations = asyncio.create_task(sessions.listen_for_revocations())
        settle_collector()
        try:
            yield
        finally:
            revocations.cancel()
            await broker.stop_broker()
            await database.close_database()

    routes = [
        # Anonymous repeats of the directory page skip the executor, checked
        # against the providers' availability versions (web/directory_cache.py).
        Route("/graphql", DirectoryCache(graphql), methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        # The secret in the path is the credential: no Authorization header.
        Route("/calendar/{secret}.ics", calendar_feed, methods=["GET"]),
        static_route(),
    ]
    if settings.metrics_enabled:
        routes.append(Route("/metrics", observability.metrics_endpoint))
    middleware = [Middleware(RequestMiddleware, settings=settings)]
    if settings.cors_origins:
        # Outermost, so the refusals RequestMiddleware writes itself (413,
        # 400) carry CORS headers too, and a browser app can read them.
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
            ),
        )
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def configure_logging(settings: Settings) -> None:
    # JSON or text, with request ids, secrets redacted (observability.py).
    observability.configure_logging(settings)


configure_logging(get_settings())
app = create_app()
