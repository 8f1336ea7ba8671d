"""WebSocket echo server for the Autobahn|Testsuite run (see ``run_autobahn.py``).

Usage: ``python echo_app.py PORT [threading|asyncio]``

Serves one ``@websocket_handler`` on ``/`` at ``127.0.0.1:PORT`` that sends every text and
binary message back as it came. ``asyncio`` starts the server with ``prefer_coroutine=True``,
``threading`` (the default) with ``prefer_coroutine=False``.
"""
from __future__ import annotations

import sys

from naja_atra import server, websocket_handler

#: Autobahn section 9 sends messages of up to 16 MiB, the framework's default limit; leave headroom.
MAX_WEBSOCKET_MESSAGE = 64 * 1024 * 1024

MODES = {"threading": False, "asyncio": True}


@websocket_handler(endpoint="/")
class EchoHandler:
    """Send each message back to the peer unchanged."""

    def on_text_message(self, session, message: str) -> None:
        """Echo a text message."""
        session.send(message)

    def on_binary_message(self, session, message: bytes) -> None:
        """Echo a binary message."""
        session.send(message)


def main(argv: list[str]) -> int:
    """Parse ``PORT [MODE]`` and serve until the process is stopped."""
    if not 1 <= len(argv) <= 2 or (len(argv) == 2 and argv[1] not in MODES):
        print(__doc__, file=sys.stderr)
        return 2
    mode = argv[1] if len(argv) == 2 else "threading"
    server.start(host="127.0.0.1", port=int(argv[0]), prefer_coroutine=MODES[mode],
                 max_websocket_message=MAX_WEBSOCKET_MESSAGE)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
