"""The schema: root types assembled from each domain, limits and error codes."""

import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import (
    SchemaExtension,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.errors import RapportError
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
        (AuthMutation, DirectoryMutation, AppointmentMutation, MessagingMutation),
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
    elif error.path is None and (original is None or _is_input_error(original)):
        executed = execution_context is not None and execution_context.result
        # Errors without a field path that arise once execution starts are
        # variables that could not be coerced; before that, validation.
        if executed or error.message.startswith("Variable"):
            extensions["code"] = "BAD_USER_INPUT"
        else:
            extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
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


class RapportSchema(strawberry.Schema):
    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        for error in errors:
            classify(error, execution_context)


def build_schema(settings: Settings | None = None) -> RapportSchema:
    settings = settings or get_settings()
    extensions: list[Any] = [
        AuthenticationGate,
        # Both caches live at module level, so factories still share them.
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
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
