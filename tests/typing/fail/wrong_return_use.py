"""An async controller stays a coroutine function under ``@route``."""
from __future__ import annotations

from naja_atra import Application

app = Application()


@app.route("/async")
async def handler(n: int = 1) -> str:
    return str(n)


async def caller() -> int:
    return await handler()  # expect-error: return-value
