"""Per-request context: who is asking, and loaders that live one operation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry.types import Info as StrawberryInfo

import models
from schema.errors import Forbidden, Unauthenticated

if TYPE_CHECKING:
    from resolvers.loaders import Loaders


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
        self._loaders: Loaders | None = None
        # Set when a bearer token was sent but is not valid.
        self.auth_error: Exception | None = None

    @property
    def loaders(self) -> Loaders:
        """Loaders for this operation; subscriptions call fresh_loaders per event."""
        if self._loaders is None:
            from resolvers.loaders import Loaders

            self._loaders = Loaders()
        return self._loaders

    def fresh_loaders(self) -> None:
        self._loaders = None

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
