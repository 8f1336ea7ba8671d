"""The two routes of ``naja_deploy_app.py``, in Starlette, for the same uvicorn settings::

    uvicorn starlette_deploy_app:app --app-dir benchmarks/apps --http h11 --loop asyncio
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


async def hello(request: Request) -> Response:
    """Plain text."""
    return PlainTextResponse("Hello, World!")


async def json_payload(request: Request) -> Response:
    """A small dict, rendered as JSON."""
    return JSONResponse({"message": "Hello, World!", "ok": True, "count": 3, "items": [1, 2, 3]})


app = Starlette(routes=[Route("/hello", hello, methods=["GET"]), Route("/json", json_payload, methods=["GET"])])
