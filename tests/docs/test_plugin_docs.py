"""The examples of ``docs/plugins.md`` run, and do what the page says.

Convention in the markdown file: a fenced ``python`` block must be directly preceded
(blank lines allowed) by one of two HTML comments, invisible when the page is rendered:

- ``<!-- test: NAME -->``: a complete program. It runs as a module of its own in a fresh
  namespace and must define ``app``, an ``Application`` of its own. The test serves that
  app on 127.0.0.1 (free port), runs ``EXPECTATIONS[NAME]`` against it over HTTP, stops
  it, and runs the optional after-stop check. NAME is unique on the page. Each example
  runs on the threading server and, unless it is about that server, on the asyncio one.
- ``<!-- compile -->``: a fragment (or a program that would block, or imports modules
  that only exist in the reader's project); it is only compiled.

Any other ``python`` block is an error, as is a test block without an expectation here
(or an expectation without a block). Blocks in other languages (``text``) are ignored.
"""
from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from ..support import Client, Reply, serving

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!--\s*(?:test:\s*(?P<name>[\w-]+)|(?P<compile>compile))\s*-->\s*$")


@dataclass
class Block:
    kind: str  # "test" or "compile"; "" when unmarked
    name: str
    code: str
    line: int  # line of the first code line in the markdown file


def parse_blocks(text: str) -> list[Block]:
    """Every fenced ``python`` block of ``text`` with the marker before it."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        language = fence.group(1)
        start = i + 1
        end = start
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if language == "python":
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            marker = _MARKER.match(lines[j]) if j >= 0 else None
            kind = name = ""
            if marker is not None:
                kind = "test" if marker.group("name") else "compile"
                name = marker.group("name") or f"line-{start + 1}"
            blocks.append(Block(kind, name, "\n".join(lines[start:end]) + "\n", start + 1))
        i = end + 1
    return blocks


BLOCKS = parse_blocks(DOC.read_text(encoding="utf-8"))
TEST_BLOCKS = {b.name: b for b in BLOCKS if b.kind == "test"}


# -- running an example -------------------------------------------------------------------


@dataclass
class Probe:
    """What an expectation gets: the example's namespace, its app and an HTTP client."""

    ns: dict[str, Any]
    client: Client
    stdout: str
    logs: list[logging.LogRecord] = field(default_factory=list)

    @property
    def app(self) -> Any:
        return self.ns["app"]

    def request(self, path: str, method: str = "GET", headers: Optional[dict[str, str]] = None) -> Reply:
        """The response (header names are case-insensitive: ``reply.headers["content-type"]``)."""
        return self.client.request(method, path, headers=headers)


@dataclass
class Expect:
    check: Callable[[Probe], None]
    after_stop: Optional[Callable[[Probe], None]] = None


def run_module(block: Block) -> tuple[dict[str, Any], str]:
    """Execute ``block`` as a fresh module (so dataclasses and class lookups work); its
    line numbers in tracebacks are those of the markdown file."""
    name = f"docs_plugins_{block.name.replace('-', '_')}"
    module = types.ModuleType(name)
    module.__file__ = str(DOC)
    sys.modules[name] = module
    code = compile("\n" * (block.line - 1) + block.code, str(DOC), "exec")
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(code, module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
    return module.__dict__, out.getvalue()


# -- what each example must show ---------------------------------------------------------


def first_plugin(p: Probe) -> None:
    reply = p.request("/")
    assert (reply.status, reply.text) == (200, "hello")
    assert reply.headers["x-powered-by"] == "naja_atra"


def block_builtin(p: Probe) -> None:
    assert p.app.plugin_manager.is_blocked("naja_atra.static")
    assert p.app.plugin_manager.get_plugin("naja_atra.errors") is None
    reply = p.request("/missing")
    assert reply.status == 404
    assert reply.text == "404 Not Found"  # the plain-text fallback, not the HTML page


def rebuild(p: Probe) -> None:
    reply = p.request("/")
    assert (reply.status, reply.text) == (200, "hello")
    assert reply.headers["x-stamp"] == "yes"


def addhooks(p: Probe) -> None:
    reply = p.request("/flags")
    assert reply.status == 200
    assert reply.json() == {"new_ui": True, "dark_mode": False}


def configure(p: Probe) -> None:
    reply = p.request("/healthz")
    assert (reply.status, reply.json()) == (200, {"status": "ok"})


def route_added(p: Probe) -> None:
    assert "rejected: paths must be lower-case" in p.stdout
    assert "/Admin" in p.stdout
    reply = p.request("/_routes")
    assert reply.status == 200
    listed = reply.json()
    assert any("/users" in line for line in listed) and any("/_routes" in line for line in listed)


def router(p: Probe) -> None:
    router = p.app.dispatcher.router
    while hasattr(router, "inner"):  # the built-in wrappers (naja_atra.options, ...) around it
        router = router.inner
    assert type(router).__name__ == "CaseInsensitiveRouter"
    reply = p.request("/Hello/")
    assert (reply.status, reply.text) == (200, "hello")
    reply = p.request("/HELLO", method="POST")
    assert reply.status == 405 and reply.headers["allow"] == "GET"
    assert p.request("/nope").status == 404


def resolver(p: Probe) -> None:
    reply = p.request("/greet?greeting=Hi", headers={"X-User": "alice"})
    assert (reply.status, reply.text) == (200, "Hi, alice")
    reply = p.request("/greet", headers={"X-User": "bob"})
    assert (reply.status, reply.text) == (200, "Hello, bob")
    assert p.request("/greet").status == 401


def filters(p: Probe) -> None:
    assert p.request("/api/orders").status == 401
    assert p.request("/api/orders", headers={"X-Api-Key": "wrong"}).status == 401
    reply = p.request("/api/orders", headers={"X-Api-Key": "s3cret"})
    assert (reply.status, reply.json()) == (200, {"orders": []})
    reply = p.request("/")
    assert (reply.status, reply.text) == (200, "public")


def wrap_handler(p: Probe) -> None:
    for path in ("/sync", "/async"):
        reply = p.request(path)
        assert (reply.status, reply.text) == (200, path[1:])
        assert re.fullmatch(r"app;dur=\d+\.\d", reply.headers["server-timing"]), reply.headers
    dur = float(p.request("/async").headers["server-timing"].split("=")[1])
    assert dur >= 9.0  # the wrapper waited for the coroutine (it sleeps 10 ms)


def converters(p: Probe) -> None:
    reply = p.request("/point")
    assert reply.status == 200 and reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"x": 1, "y": 2}
    reply = p.request("/config")
    assert reply.status == 200 and reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"data": {"debug": False}}


def sessions(p: Probe) -> None:
    first = p.request("/visits")
    assert (first.status, first.json()) == (200, {"visits": 1, "store": "DictSession"})
    cookie = first.headers["set-cookie"].split(";", 1)[0]
    assert cookie.startswith("PY_SIM_HTTP_SER_SESSION_ID=")
    second = p.request("/visits", headers={"Cookie": cookie})
    assert second.json() == {"visits": 2, "store": "DictSession"}
    stranger = p.request("/visits", headers={"Cookie": "PY_SIM_HTTP_SER_SESSION_ID=made-up"})
    assert stranger.json()["visits"] == 1
    assert "made-up" not in stranger.headers["set-cookie"]


def errors(p: Probe) -> None:
    reply = p.request("/nope")
    assert reply.status == 404 and reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"error": {"code": 404, "message": "Not Found"}}
    reply = p.request("/boom")
    assert reply.status == 500
    assert reply.json() == {"error": {"code": 500, "message": "Internal Server Error"}}
    reply = p.request("/boom", method="POST")
    assert reply.status == 405 and reply.headers["allow"] == "GET, HEAD"
    assert reply.json()["error"]["code"] == 405


def lifespan(p: Probe) -> None:
    reply = p.request("/notes")
    assert (reply.status, reply.json()) == (200, {"notes": ["opened at start"]})


def lifespan_closed(p: Probe) -> None:
    assert p.ns["db"].conn is None


def servers(p: Probe) -> None:
    assert type(p.app.server).__name__ == "LoggingServer"
    reply = p.request("/")
    assert (reply.status, reply.text) == (200, "served by a LoggingServer")
    assert any(r.name == "myapp.server" and "serving on" in r.getMessage() for r in p.logs)


def servers_stopped(p: Probe) -> None:
    assert any(r.name == "myapp.server" and "stopped serving" in r.getMessage() for r in p.logs)


def cli_options(p: Probe) -> None:
    reply = p.request("/greeting")
    assert (reply.status, reply.text) == (200, "Hi")


def static(p: Probe) -> None:
    assert p.app.plugin_manager.is_blocked("naja_atra.static")
    reply = p.request("/ui/app.js")
    assert reply.status == 200 and "javascript" in reply.headers["content-type"]
    assert reply.headers["cache-control"].startswith("public, max-age=31536000")
    assert reply.body == b"console.log('shop');"
    reply = p.request("/ui/orders/42")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/html")
    assert reply.headers["cache-control"] == "no-cache"
    assert b"<title>Shop</title>" in reply.body


def plugin_testing(p: Probe) -> None:
    reply = p.request("/hello")
    assert (reply.status, reply.text) == (200, "hello from a plugin")


EXPECTATIONS: dict[str, Expect] = {
    "first-plugin": Expect(first_plugin),
    "block-builtin": Expect(block_builtin),
    "rebuild": Expect(rebuild),
    "addhooks": Expect(addhooks),
    "configure": Expect(configure),
    "route-added": Expect(route_added),
    "router": Expect(router),
    "resolver": Expect(resolver),
    "filters": Expect(filters),
    "wrap-handler": Expect(wrap_handler),
    "converters": Expect(converters),
    "sessions": Expect(sessions),
    "errors": Expect(errors),
    "lifespan": Expect(lifespan, lifespan_closed),
    "servers": Expect(servers, servers_stopped),
    "cli-options": Expect(cli_options),
    "static": Expect(static),
    "testing": Expect(plugin_testing),
}

#: Examples about the threading server itself (the others also run on the asyncio one).
THREADING_ONLY = frozenset({"servers"})


# -- the tests ----------------------------------------------------------------------------


def test_every_python_block_is_marked() -> None:
    unmarked = [b.line for b in BLOCKS if not b.kind]
    assert not unmarked, f"python blocks without <!-- test: NAME --> or <!-- compile --> at lines {unmarked}"


def test_test_blocks_and_expectations_match() -> None:
    names = [b.name for b in BLOCKS if b.kind == "test"]
    assert len(names) == len(set(names)), "duplicate test block names"
    assert set(names) == set(EXPECTATIONS)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.kind == "compile"], ids=lambda b: b.name)
def test_fragment_compiles(block: Block) -> None:
    compile(block.code, f"{DOC}:{block.line}", "exec")


def _cases() -> list[Any]:
    """Every example on the threading server; those not tied to a driver on asyncio too."""
    cases = []
    for name in EXPECTATIONS:
        cases.append(pytest.param(name, False, id=name))
        if name not in THREADING_ONLY:
            cases.append(pytest.param(name, True, id=f"{name}-asyncio"))
    return cases


@pytest.mark.parametrize(("name", "prefer_coroutine"), _cases())
def test_example(name: str, prefer_coroutine: bool, caplog: pytest.LogCaptureFixture) -> None:
    from naja_atra import Application

    caplog.set_level(logging.INFO)
    block = TEST_BLOCKS[name]
    expect = EXPECTATIONS[name]
    try:
        ns, stdout = run_module(block)
        app = ns.get("app")
        assert isinstance(app, Application), "a test block must define `app = Application()`"
        with serving(app, "asyncio" if prefer_coroutine else "threading") as client:
            probe = Probe(ns, client, stdout, caplog.records)
            expect.check(probe)
        if expect.after_stop is not None:
            expect.after_stop(probe)
    finally:
        sys.modules.pop(f"docs_plugins_{name.replace('-', '_')}", None)
