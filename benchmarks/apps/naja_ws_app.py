"""The WebSocket echo app, written only against the public API naja-atra 1.2.2 and this package share.

It runs unchanged under this repository's ``naja_atra`` and under the
reference ``naja-atra==1.2.2``::

    python naja_ws_app.py --port 8080 --mode threading   # or --mode asyncio

``/echo`` is a WebSocket endpoint that sends every text message straight back
on the same session.  The port may also come from the ``BENCH_PORT``
environment variable.
"""

# No ``from __future__ import annotations`` here, like naja_app.py: the reference
# 1.2.2 does not resolve string annotations.

import argparse
import os

from naja_atra import WebsocketHandler, WebsocketSession, server, websocket_handler


@websocket_handler(endpoint="/echo")
class Echo(WebsocketHandler):
    """Echo text messages; every other event keeps the framework's default."""

    def on_text_message(self, session: WebsocketSession, message: str) -> None:
        session.send(message)


def quiet_logs(level: str) -> None:
    """Lower the framework's log level so per-message logging is not what we measure."""
    try:
        from naja_atra.utils import logger
    except ImportError:
        return
    logger.set_level(level)


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="naja_atra WebSocket echo benchmark app")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8080")))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--mode", choices=("threading", "asyncio"), default="threading")
    parser.add_argument("--log-level", default="ERROR")
    return parser.parse_args()


def main() -> None:
    """Start the server in the chosen mode (blocks)."""
    args = parse_args()
    quiet_logs(args.log_level)
    server.start(host=args.host, port=args.port, prefer_coroutine=args.mode == "asyncio")


if __name__ == "__main__":
    main()
