"""GraphiQL page served from vendored assets, so it works with no internet."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

GRAPHIQL_ASSETS_PATH: str = "/static/graphiql"

_HERE = Path(__file__).resolve().parent
# Vendored npm files, (re)created by scripts/fetch_graphiql_assets.sh.
GRAPHIQL_ASSETS_DIR: Path = _HERE / "static" / "graphiql"
# Our own copy of strawberry's page rather than the installed one, so a
# strawberry upgrade cannot silently bring the CDN URLs back. It lives outside
# the static folder because the raw template (with placeholders) is not a page.
_TEMPLATE: str = (_HERE / "graphiql.html").read_text(encoding="utf-8")


def render_graphiql_page(*, subscriptions_enabled: bool = True) -> str:
    """Return the GraphiQL HTML page wired to the vendored assets."""
    # json.dumps yields the JS literals `true`/`false`.
    page = _TEMPLATE.replace(
        "{{ SUBSCRIPTION_ENABLED }}", json.dumps(subscriptions_enabled)
    ).replace("{{ GRAPHIQL_ASSETS_PATH }}", GRAPHIQL_ASSETS_PATH)
    if "{{" in page:  # fail loudly rather than ship a half-filled template
        raise RuntimeError("unfilled placeholder in web/graphiql.html")
    return page


def static_route() -> Mount:
    """Return the route serving the vendored GraphiQL assets."""
    return Mount(
        GRAPHIQL_ASSETS_PATH,
        app=StaticFiles(directory=GRAPHIQL_ASSETS_DIR),
        name="graphiql-static",
    )


class OfflineGraphiQLMixin:
    """Make strawberry's ASGI view serve the offline GraphiQL page.

    Usage: ``class GraphQLApp(OfflineGraphiQLMixin, strawberry.asgi.GraphQL)``.
    """

    # Set False on apps that do not accept websocket subscriptions.
    graphiql_subscriptions_enabled: bool = True

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """Return the offline GraphiQL page (overrides strawberry's CDN one)."""
        return HTMLResponse(
            render_graphiql_page(
                subscriptions_enabled=self.graphiql_subscriptions_enabled
            )
        )
