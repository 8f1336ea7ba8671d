"""A minimal echo server on the ``websockets`` library, for comparison::

    python websockets_app.py --port 8080

Every message that arrives on any path is sent straight back, with the
library's defaults otherwise (its asyncio implementation on the stock event
loop; permessage-deflate is only used when the client asks for it, and the
benchmark's client does not).
"""

from __future__ import annotations

import argparse
import asyncio
import os

try:  # websockets >= 13: the new asyncio implementation
    from websockets.asyncio.server import ServerConnection, serve
except ImportError:  # older releases: the legacy one, same call
    from websockets import WebSocketServerProtocol as ServerConnection  # type: ignore[no-redef]
    from websockets import serve  # type: ignore[no-redef]


async def echo(websocket: ServerConnection) -> None:
    """Send every message back on the same connection."""
    async for message in websocket:
        await websocket.send(message)


async def serve_forever(host: str, port: int) -> None:
    """Listen on ``host:port`` until the process is stopped."""
    async with serve(echo, host, port):
        await asyncio.get_running_loop().create_future()


def main() -> None:
    """Command line: --host, --port (or the BENCH_PORT environment variable)."""
    parser = argparse.ArgumentParser(description="websockets echo benchmark app")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8080")))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    asyncio.run(serve_forever(args.host, args.port))


if __name__ == "__main__":
    main()
