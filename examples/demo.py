"""A small demo application: run it, then open http://127.0.0.1:9090/ ."""
from __future__ import annotations

import argparse
import asyncio

from naja_atra import (
    Headers,
    HttpError,
    JSONBody,
    Parameter,
    PathValue,
    Redirect,
    Response,
    Session,
    request_filter,
    route,
    server,
)


@route("/")
def index() -> str:
    return ("<!DOCTYPE html><html><body><h1>naja_atra demo</h1><ul>"
            '<li><a href="/hello?name=you">/hello?name=you</a></li>'
            '<li><a href="/json">/json</a></li>'
            '<li><a href="/users/42">/users/42</a></li>'
            '<li><a href="/count">/count</a> (a session counter)</li>'
            '<li><a href="/stream">/stream</a></li>'
            "</ul></body></html>")


@route("/hello")
def hello(name: str = Parameter("name", default="world")) -> str:
    return f"Hello, {name}!"


@route("/json")
def json_data() -> dict[str, object]:
    return {"framework": "naja_atra", "plugins": True}


@route("/users/{user_id}")
async def user(user_id: str = PathValue(), verbose: bool = False) -> object:
    await asyncio.sleep(0)
    if not user_id.isdigit():
        raise HttpError(400, "Bad user id", "user ids are numbers")
    return 200, Headers({"X-User": user_id}), {"id": int(user_id), "verbose": verbose}


@route("/echo", method="POST")
def echo(body: JSONBody) -> dict[str, object]:
    return {"you_sent": dict(body)}


@route("/count")
def count(session: Session) -> str:
    seen = (session.get_attribute("seen") or 0) + 1
    session.set_attribute("seen", seen)
    return f"You have been here {seen} time(s)."


@route("/stream")
def stream(response: Response) -> None:
    response.add_header("Content-Type", "text/plain; charset=utf-8")
    for i in range(5):
        response.write_bytes(f"line {i}\n".encode())
    response.close()


@route("/old")
def old() -> Redirect:
    return Redirect("/")


@request_filter("/users/**")
def timing(ctx) -> None:  # type: ignore[no-untyped-def]
    ctx.response.add_header("X-Filtered", "yes")
    ctx.do_chain()


def main() -> None:
    """``python3 examples/demo.py [--host HOST] [--port PORT]``."""
    parser = argparse.ArgumentParser(description="The naja_atra demo application.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9090, help="port to listen on (default 9090; 0: any free one)")
    args = parser.parse_args()
    server.start(host=args.host, port=args.port)  # logs the URL it serves


if __name__ == "__main__":
    main()
