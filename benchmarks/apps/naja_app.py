"""The benchmark app, written only against the public API naja-atra 1.2.2 and this package share.

It runs unchanged under this repository's ``naja_atra`` and under the
reference ``naja-atra==1.2.2``::

    python naja_app.py --port 8080 --mode threading   # or --mode asyncio

``--mode asyncio-inline`` (this package only) runs the plain controllers on the event loop
instead of the thread pool the asyncio server uses by default.

Routes (all GET):

* ``/hello``              -> the text ``Hello, World!``
* ``/json``               -> a small dict, rendered as JSON
* ``/users/{user_id}``    -> a path value plus the ``verbose`` query parameter (a ``str``)
* ``/route0`` .. ``/route99`` -> 100 distinct functions; the benchmark hits ``/route99``

The port may also come from the ``BENCH_PORT`` environment variable.
"""

# No ``from __future__ import annotations`` here on purpose: the framework reads
# the real annotation objects (``PathValue``, ``str``) to resolve arguments, and
# the reference 1.2.2 does not resolve string annotations.

import argparse
import os
from typing import Callable

from naja_atra import PathValue, route, server

ROUTE_COUNT = 100


@route("/hello", method="GET")
def hello() -> str:
    """Plain text."""
    return "Hello, World!"


@route("/json", method="GET")
def json_payload() -> dict[str, object]:
    """A small dict, rendered as JSON."""
    return {"message": "Hello, World!", "ok": True, "count": 3, "items": [1, 2, 3]}


@route("/users/{user_id}", method="GET")
def user(user_id: PathValue, verbose: str = "0") -> str:
    """A path value and a query parameter."""
    return f"user {user_id}, verbose={verbose}"


def _numbered_route(index: int) -> Callable[[], str]:
    """Build a distinct controller function for ``/route<index>``."""

    def controller() -> str:
        return f"route {index}"

    controller.__name__ = controller.__qualname__ = f"route{index}"
    return controller


for _index in range(ROUTE_COUNT):
    route(f"/route{_index}", method="GET")(_numbered_route(_index))


def quiet_logs(level: str) -> None:
    """Lower the framework's log level so per-request logging is not what we measure."""
    try:
        from naja_atra.utils import logger
    except ImportError:
        return
    logger.set_level(level)


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="naja_atra benchmark app")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8080")))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--mode", choices=("threading", "asyncio", "asyncio-inline"), default="threading")
    parser.add_argument("--log-level", default="ERROR")
    return parser.parse_args()


def main() -> None:
    """Start the server in the chosen mode (blocks)."""
    args = parse_args()
    quiet_logs(args.log_level)
    if args.mode == "asyncio-inline":
        server.start(host=args.host, port=args.port, prefer_coroutine=True, run_sync_in_threadpool=False)
    else:
        server.start(host=args.host, port=args.port, prefer_coroutine=args.mode == "asyncio")


if __name__ == "__main__":
    main()
