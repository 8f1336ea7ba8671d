"""The deployment benchmark's app: two routes, served by production servers.

One module, three ways to serve it::

    uvicorn naja_deploy_app:app --app-dir benchmarks/apps --http h11 --loop asyncio   # ASGI
    gunicorn --chdir benchmarks/apps -w 1 -k sync naja_deploy_app:wsgi_app            # WSGI
    python benchmarks/apps/naja_deploy_app.py --port 8080 --mode asyncio             # built-in

Routes (GET):

* ``/hello`` -> the text ``Hello, World!``
* ``/json``  -> a small dict, rendered as JSON

Both controllers are plain functions: under an ASGI server a plain controller runs on the
event loop (``run_sync_in_threadpool`` is off), under a WSGI server on the worker's thread,
so one file serves both without an event loop per WSGI thread. ``starlette_deploy_app.py``
and ``flask_deploy_app.py`` are its twins.
"""

from __future__ import annotations

from naja_atra import Application
from naja_atra.utils import logger

# Per-request logging is not what is measured (the servers run with their access logs off).
logger.set_level("ERROR")

app = Application()


@app.route("/hello", method="GET")
def hello() -> str:
    """Plain text."""
    return "Hello, World!"


@app.route("/json", method="GET")
def json_payload() -> dict[str, object]:
    """A small dict, rendered as JSON."""
    return {"message": "Hello, World!", "ok": True, "count": 3, "items": [1, 2, 3]}


#: The WSGI callable (PEP 3333) for gunicorn and other WSGI servers.
wsgi_app = app.wsgi


def main() -> None:
    """Serve with the built-in server instead (the benchmark's reference rows)."""
    import argparse

    parser = argparse.ArgumentParser(description="naja_atra deployment benchmark app, built-in server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--mode", choices=("threading", "asyncio"), default="asyncio")
    args = parser.parse_args()
    app.start(host=args.host, port=args.port, prefer_coroutine=args.mode == "asyncio")


if __name__ == "__main__":
    main()
