"""The schema: root types assembled from each domain, limits and error codes."""

import logging
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from starlette.requests import Request
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import (
    create_validator as depth_rule,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import (
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from observability import UNAVAILABLE_MESSAGE, OperationObserver, dependency_is_down
from schema.context import begin_operation
from schema.errors import BadUserInput, RapportError
from schema.scalars import SCALAR_OVERRIDES
from settings import Settings, get_settings

logger = logging.getLogger(__name__)


def root_types() -> tuple[type, type, type, list[type]]:
    """Query, Mutation, Subscription and the Node types, from each domain.

    Imported here rather than at module level because resolvers import
    schema.errors, and the domain modules import the resolvers.
    """
    from schema.appointments import AppointmentMutation, AppointmentQuery
    from schema.directory import DirectoryMutation, DirectoryQuery
    from schema.messaging import MessagingMutation, MessagingQuery
    from schema.nodes import NodeQuery
    from schema.scheduling import SchedulingMutation
    from schema.types import (
        Appointment,
        InsurancePlan,
        Message,
        MessageThread,
        Provider,
        User,
    )
    from schema.viewer import AuthMutation, AuthQuery
    from subscriptions.schema import Subscription

    query = merge_types(
        "Query",
        (NodeQuery, AuthQuery, DirectoryQuery, AppointmentQuery, MessagingQuery),
    )
    mutation = merge_types(
        "Mutation",
        (
            AuthMutation,
            DirectoryMutation,
            AppointmentMutation,
            SchedulingMutation,
            MessagingMutation,
        ),
    )
    nodes = [Provider, InsurancePlan, User, Appointment, MessageThread, Message]
    return query, mutation, Subscription, nodes


INTERNAL_MESSAGE = "Something went wrong on our side; it has been logged."


def classify(error: GraphQLError, execution_context: ExecutionContext | None) -> None:
    """Give every error an API.md code; hide the details of unexpected ones."""
    original = error.original_error
    extensions = dict(error.extensions or {})
    if isinstance(original, RapportError):
        extensions.update(original.extensions)
        extensions["code"] = original.code
        error.message = original.message
    elif isinstance(error, GraphQLSyntaxError) or isinstance(
        original, GraphQLSyntaxError
    ):
        limit = "tokens" in error.message
        extensions["code"] = (
            "GRAPHQL_VALIDATION_FAILED" if limit else "GRAPHQL_PARSE_FAILED"
        )
        if limit:
            error.message = (
                f"The document has more than {get_settings().max_tokens:,} tokens: "
                "ask for fewer fields, or split it into several requests."
            )
    elif isinstance(original, InvalidOperationTypeError):
        extensions["code"] = "BAD_USER_INPUT"
        error.message = (
            f"{_PLURALS[original.operation_type]} cannot be sent this way: the "
            "legacy graphql-ws protocol carries subscriptions only, so send "
            "queries and mutations over HTTP or graphql-transport-ws."
        )
    elif isinstance(original, CannotGetOperationTypeError):
        extensions["code"] = "BAD_USER_INPUT"
        error.message = original.as_http_error_reason()
    elif error.path is None and (original is None or _is_input_error(original)):
        executed = execution_context is not None and execution_context.result
        # Errors without a field path that arise once execution starts are
        # variables that could not be coerced; before that, validation. A
        # ValueError is one of our scalars refusing a literal: the document
        # is fine, the value is not (a DateTime without an offset).
        if (
            executed
            or _COERCION_FAILED.match(error.message)
            or isinstance(original, ValueError)
        ):
            extensions["code"] = "BAD_USER_INPUT"
        else:
            extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
    elif original is not None and dependency_is_down(original):
        # The database went away: /readyz says so; a traceback per request
        # would bury the one line that matters.
        logger.warning(
            "Dependency unavailable path=%s error=%s",
            ".".join(str(p) for p in error.path or ()),
            type(original).__name__,
        )
        error.message = UNAVAILABLE_MESSAGE
        extensions = {"code": "INTERNAL"}
    else:
        if original is not None:
            logger.error(
                "Unexpected error path=%s",
                ".".join(str(p) for p in error.path or ()),
                exc_info=(type(original), original, original.__traceback__),
            )
        else:
            logger.error(
                "Unexpected error path=%s message=%s", error.path, error.message
            )
        error.message = INTERNAL_MESSAGE
        extensions = {"code": "INTERNAL"}
    error.extensions = extensions


# graphql-core's words for variable values it could not coerce; its
# validation rules also start with "Variable" ("... is never used"), and
# those are the document's fault, not the values'.
_COERCION_FAILED = re.compile(
    r"Variable '\$[^']+' (got invalid value|of required type .+ was not provided"
    r"|of non-null type .+ must not be null|expected value of type)"
)


_PLURALS = {
    OperationType.QUERY: "Queries",
    OperationType.MUTATION: "Mutations",
    OperationType.SUBSCRIPTION: "Subscriptions",
}


def _is_input_error(original: Exception) -> bool:
    return isinstance(original, (GraphQLError, ValueError, TypeError))


class AuthenticationGate(SchemaExtension):
    """A bad token fails the whole request as UNAUTHENTICATED, not anonymous."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        error = getattr(context, "auth_error", None)
        if error is not None:
            self.execution_context.result = GraphQLExecutionResult(
                data=None,
                errors=[GraphQLError(error.message, original_error=error)],
            )
        yield


# A raw NUL, or the escapes a string literal can spell it with: \u0000 and
# \u{0}. (An escaped backslash before them is refused too: rare, harmless.)
_NUL_IN_DOCUMENT = re.compile(r"\x00|\\u0000|\\u\{0+\}")


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


class RejectNulCharacters(SchemaExtension):
    """PostgreSQL text cannot hold NUL, so no input may carry one.

    Refused up front as BAD_USER_INPUT on every backend, rather than stored on
    SQLite and a driver error (INTERNAL) on PostgreSQL.
    """

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query or ""
        if _NUL_IN_DOCUMENT.search(query) or _holds_nul(context.variables):
            error = BadUserInput("expected text without NUL (\\u0000) characters")
            context.result = GraphQLExecutionResult(
                data=None, errors=[GraphQLError(error.message, original_error=error)]
            )
        yield


class SubscriptionsNeedAWebsocket(SchemaExtension):
    """Over plain HTTP a subscription would run once as a query and fail inside."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        request = getattr(context.context, "request", None)
        if (
            isinstance(request, Request)
            and context.operation_type == OperationType.SUBSCRIPTION
        ):
            error = BadUserInput(
                "Subscriptions need a websocket: connect to /graphql with the "
                "graphql-transport-ws protocol."
            )
            context.result = GraphQLExecutionResult(
                data=None, errors=[GraphQLError(error.message, original_error=error)]
            )
        yield


class OperationNameWhenSeveral(SchemaExtension):
    """A document of several operations must say which to run (GraphQL spec).

    Strawberry would pick the first one; a client that sent two meant one of
    them, and guessing could run a mutation it did not mean.
    """

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # operation_name falls back to the first operation's name; what the
        # client sent is kept aside.
        if context._provided_operation_name is None and document is not None:
            definitions = document.definitions
            operations = [
                d for d in definitions if isinstance(d, OperationDefinitionNode)
            ]
            if len(operations) > 1:
                error = BadUserInput(
                    "This document holds several operations: name the one to run "
                    "in operationName."
                )
                context.result = GraphQLExecutionResult(
                    data=None,
                    errors=[GraphQLError(error.message, original_error=error)],
                )
        yield


class FreshPerOperation(SchemaExtension):
    """Each operation starts with empty loaders and a full slot budget.

    Over HTTP every request has its own context anyway; on a websocket one
    context serves every operation of the connection, and its loaders would
    answer a second query with what the first one read (schema/context.py).
    """

    def on_operation(self) -> Iterator[None]:
        begin_operation()
        yield


class SafeParserCache(ParserCache):
    """ParserCache whose syntax errors reach the client on every transport.

    ParserCache parses inside the parsing hook, outside the try that turns a
    syntax error into a result; over HTTP something further up catches it,
    but on a websocket the operation's task dies with the document in its
    traceback and the client gets a bare `complete`. Leaving a bad document
    unparsed lets Strawberry parse it again where the error is handled.
    """

    def on_parse(self) -> Iterator[None]:
        try:
            yield from super().on_parse()
        except GraphQLError:
            self.execution_context.graphql_document = None
            yield


class RapportSchema(strawberry.Schema):
    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        for error in errors:
            classify(error, execution_context)


@lru_cache(maxsize=16)
def limit_rules(max_depth: int, max_aliases: int) -> list[type[ASTValidationRule]]:
    """The depth and alias rules, one class per limit value.

    QueryDepthLimiter and MaxAliasesLimiter make new rule classes per
    instance, which changes ValidationCache's key on every request: it would
    never hit. Made once per value, the cache works and settings still apply.
    """
    return [
        depth_rule(max_depth, should_ignore=None),
        alias_rule(max_aliases),
    ]


def build_schema(settings: Settings | None = None) -> RapportSchema:
    settings = settings or get_settings()
    extensions: list[Any] = [
        # First, so its timing and outcome cover every other extension.
        OperationObserver,
        FreshPerOperation,
        AuthenticationGate,
        RejectNulCharacters,
        SubscriptionsNeedAWebsocket,
        OperationNameWhenSeveral,
        # Both caches live at module level, so factories still share them.
        lambda: SafeParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: AddValidationRules(
            limit_rules(settings.max_query_depth, settings.max_aliases)
        ),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    query, mutation, subscription, nodes = root_types()
    return RapportSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=nodes,
        extensions=extensions,
        scalar_overrides=SCALAR_OVERRIDES,
        config=StrawberryConfig(auto_camel_case=True),
    )
