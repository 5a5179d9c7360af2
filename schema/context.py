"""Per-request context: who is asking, and loaders that live one operation."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.types import Info as StrawberryInfo

import models
from schema.errors import BadUserInput, Forbidden, Unauthenticated

if TYPE_CHECKING:
    from resolvers.loaders import Loaders


T = TypeVar("T")
# Open times one operation may list, over every availableSlots it asks for.
SLOT_BUDGET = 20_000


class OperationState:
    """What one operation, or one event of a subscription, caches and spends."""

    __slots__ = ("loaders", "slot_budget")

    def __init__(self) -> None:
        self.loaders: Loaders | None = None
        self.slot_budget = SLOT_BUDGET

    def renew(self) -> None:
        self.loaders = None
        self.slot_budget = SLOT_BUDGET


# A websocket's one Context serves all its operations at once, each in a task
# of its own; the state lives in the task, so they never share it. Set once
# when the operation starts and only mutated after, so the tasks graphql-core
# starts for list items (copies of this context) share the operation's state.
_operation: ContextVar[OperationState | None] = ContextVar(
    "rapport_operation", default=None
)


def begin_operation() -> None:
    _operation.set(OperationState())


class Context:
    def __init__(
        self,
        request: Any = None,
        viewer: models.User | None = None,
        session_id: str | None = None,
    ) -> None:
        self.request = request
        self.response: Any = None
        self.viewer = viewer
        self.session_id = session_id
        # Filled from graphql-transport-ws / graphql-ws connection_init.
        self.connection_params: dict[str, Any] | None = None
        # Outside any operation (resolvers called directly): the Context's own.
        self._own_state = OperationState()
        # Set when a bearer token was sent but is not valid.
        self.auth_error: Exception | None = None

    @property
    def _state(self) -> OperationState:
        return _operation.get() or self._own_state

    @property
    def loaders(self) -> Loaders:
        """Loaders for this operation; subscriptions call fresh_loaders per event."""
        state = self._state
        if state.loaders is None:
            from resolvers.loaders import Loaders

            state.loaders = Loaders()
        return state.loaders

    def spend_slot_budget(self, slots: Iterable[T]) -> list[T]:
        """Open times listed so far in this operation, bounded.

        Each provider's year of open times is cheap; a hundred aliased copies
        of a hundred providers' years would hold the event loop for a minute.
        """
        state = self._state
        taken = list(islice(slots, state.slot_budget + 1))
        if len(taken) > state.slot_budget:
            raise BadUserInput(
                f"That asks for more than {SLOT_BUDGET:,} open times in one "
                "request: narrow from and to, or ask about fewer providers."
            )
        state.slot_budget -= len(taken)
        return taken

    def fresh_loaders(self) -> None:
        """A subscription's next event: nothing cached, a full budget."""
        self._state.renew()

    def require_viewer(self) -> models.User:
        if self.viewer is None:
            raise Unauthenticated("Log in to do that.")
        return self.viewer

    def require_role(self, role: models.Role, action: str) -> models.User:
        viewer = self.require_viewer()
        if viewer.role != role:
            raise Forbidden(f"Only a {role.value.lower()} can {action}.")
        return viewer

    @property
    def is_staff(self) -> bool:
        return self.viewer is not None and self.viewer.role == models.Role.STAFF


Info = StrawberryInfo[Context, None]
