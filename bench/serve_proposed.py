"""serve.py with the changes the bench report proposes outside bench/, labelled.

Used only with BENCH_PROPOSED=1, to show what they are worth before they land:
- web/directory_cache.DirectoryCache around the /graphql route (app.py);
- the depth and alias limits built once, so ValidationCache can hit
  (schema/__init__.py builds new rule classes per request: every validation
  is a cache miss).
Each is skipped when the code already does it.
"""

import functools

from starlette.routing import Route
from strawberry.extensions import max_aliases, query_depth_limiter

# Same arguments, same rule class: what building the limiters once gives.
query_depth_limiter.create_validator = functools.lru_cache(maxsize=None)(
    query_depth_limiter.create_validator
)
max_aliases.create_validator = functools.lru_cache(maxsize=None)(
    max_aliases.create_validator
)

import app
import serve
from web.directory_cache import DirectoryCache

route = next(r for r in app.app.routes if isinstance(r, Route) and r.path == "/graphql")
if not isinstance(route.app, DirectoryCache):
    route.app = DirectoryCache(route.app)

if __name__ == "__main__":
    serve.main()
