"""The same four routes as ``naja_app.py``, in Starlette.

Run with the pure-Python h11 protocol and the stock asyncio loop::

    uvicorn starlette_app:app --app-dir benchmarks/apps --host 127.0.0.1 --port 8080 \
        --http h11 --loop asyncio --log-level warning --no-access-log

The 100 numbered routes come after the others, so ``/route99`` is the last of
Starlette's (linearly matched) routes.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

ROUTE_COUNT = 100


async def hello(request: Request) -> Response:
    """Plain text."""
    return PlainTextResponse("Hello, World!")


async def json_payload(request: Request) -> Response:
    """A small dict, rendered as JSON."""
    return JSONResponse({"message": "Hello, World!", "ok": True, "count": 3, "items": [1, 2, 3]})


async def user(request: Request) -> Response:
    """A path value and a query parameter."""
    user_id = request.path_params["user_id"]
    verbose = request.query_params.get("verbose", "0")
    return PlainTextResponse(f"user {user_id}, verbose={verbose}")


def _numbered_route(index: int) -> Callable[[Request], Awaitable[Response]]:
    """Build a distinct endpoint for ``/route<index>``."""

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"route {index}")

    endpoint.__name__ = endpoint.__qualname__ = f"route{index}"
    return endpoint


routes = [
    Route("/hello", hello, methods=["GET"]),
    Route("/json", json_payload, methods=["GET"]),
    Route("/users/{user_id}", user, methods=["GET"]),
    *(Route(f"/route{i}", _numbered_route(i), methods=["GET"]) for i in range(ROUTE_COUNT)),
]

app = Starlette(routes=routes)
