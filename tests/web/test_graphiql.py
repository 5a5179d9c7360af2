"""GraphiQL must render from our own vendored assets, never from a CDN."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from web.graphiql import (
    GRAPHIQL_ASSETS_DIR,
    GRAPHIQL_ASSETS_PATH,
    render_graphiql_page,
    static_route,
)


class _AssetRefs(HTMLParser):
    """Collect (url, integrity) for every src/href attribute in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.refs.append((found[name] or "", found.get("integrity")))


def _refs(page: str) -> list[tuple[str, str | None]]:
    parser = _AssetRefs()
    parser.feed(page)
    return parser.refs


def _local_refs(page: str) -> list[tuple[str, str | None]]:
    # The favicon is an inline data: URL, not a file we serve.
    return [(u, i) for u, i in _refs(page) if not u.startswith("data:")]


def _sha384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


@pytest.mark.parametrize("subscriptions_enabled", [True, False])
def test_page_references_no_external_url(subscriptions_enabled: bool) -> None:
    page = render_graphiql_page(subscriptions_enabled=subscriptions_enabled)
    refs = _refs(page)
    assert refs, "parser found no src/href at all"
    for url, _ in refs:
        assert not url.startswith(("http:", "https:", "//")), url
        for word in ("unpkg", "jsdelivr", "cdn"):
            assert word not in url.lower(), url
    assert "unpkg" not in page and "jsdelivr" not in page
    assert "{{" not in page


def test_subscription_flag_is_rendered_as_js_literal() -> None:
    assert "const subscriptionUrl = true\n" in render_graphiql_page()
    page = render_graphiql_page(subscriptions_enabled=False)
    assert "const subscriptionUrl = false\n" in page


def test_every_local_asset_exists_and_matches_its_integrity() -> None:
    refs = _local_refs(render_graphiql_page())
    # React, ReactDOM, js-cookie, graphiql js+css, explorer js+css.
    assert len(refs) == 7
    for url, integrity in refs:
        assert url.startswith(GRAPHIQL_ASSETS_PATH + "/"), url
        path = GRAPHIQL_ASSETS_DIR / url.removeprefix(GRAPHIQL_ASSETS_PATH + "/")
        assert path.is_file(), f"{url} is not vendored"
        assert integrity is not None, f"{url} has no integrity attribute"
        assert _sha384(path.read_bytes()) == integrity, url


def test_starlette_app_serves_page_and_assets() -> None:
    async def graphiql(request: Request) -> HTMLResponse:
        return HTMLResponse(render_graphiql_page())

    app = Starlette(routes=[Route("/graphql", graphiql), static_route()])
    with TestClient(app) as client:
        response = client.get("/graphql")
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
        refs = _local_refs(response.text)
        assert len(refs) == 7
        for url, integrity in refs:
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert _sha384(asset.content) == integrity, url
