"""The examples of ``docs/injection.md`` run, and answer what the page says.

Same convention as ``test_plugin_docs.py``: a fenced ``python`` block is preceded by
``<!-- test: NAME -->`` (a complete program defining ``app``; it runs as a fresh module and
``EXPECTATIONS[NAME]`` checks it through ``app.test_client()``, entered with ``with`` so
the application's lifespan starts and ends around the checks, then the optional after-stop
check runs) or by ``<!-- compile -->`` (a fragment, only compiled). ``json`` and ``text``
blocks are ignored.
"""
from __future__ import annotations

import contextlib
import io
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

import naja_atra
from naja_atra.testing import TestClient

DOC = Path(__file__).resolve().parents[2] / "docs" / "injection.md"

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!--\s*(?:test:\s*(?P<name>[\w-]+)|(?P<compile>compile))\s*-->\s*$")


@dataclass
class Block:
    kind: str  # "test", "compile" or "" (unmarked)
    name: str
    code: str
    line: int  # the markdown line of the block's first code line


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
        start = end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if fence.group(1) == "python":
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


def run_module(block: Block) -> dict[str, Any]:
    """Execute ``block`` as a fresh module; tracebacks show the markdown file's lines."""
    name = f"docs_injection_{block.name.replace('-', '_')}"
    module = types.ModuleType(name)
    module.__file__ = str(DOC)
    sys.modules[name] = module
    code = compile("\n" * (block.line - 1) + block.code, str(DOC), "exec")
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, module.__dict__)
    return module.__dict__


@dataclass
class Probe:
    ns: dict[str, Any]
    client: TestClient


@dataclass
class Expect:
    check: Callable[[Probe], None]
    after_stop: Optional[Callable[[Probe], None]] = None


# -- what each example must show ----------------------------------------------------------------


def markers(p: Probe) -> None:
    c = p.client
    reply = c.get("/users/42?name=kim&tag=a&tag=b", headers={"User-Agent": "doc"}, cookies={"sid": "s1"})
    assert reply.json() == {"user_id": "42", "name": "kim", "tags": ["a", "b"], "agent": "doc",
                            "sid": "s1", "model": {"name": "kim", "tag": ["a", "b"]}}
    assert c.get("/users/42").json()["name"] == "anonymous"
    reply = c.get("/whoami", headers={"user_token": "t0k"}, cookies={"a": "1"})
    assert reply.json() == {"token": "t0k", "has_agent": True, "cookies": ["a"], "path": "/whoami"}
    assert c.get("/whoami").status_code == 400


def typed_markers(p: Probe) -> None:
    c = p.client
    reply = c.get("/items/7?page=3&page-size=50", headers={"X-Token": "abc"})
    assert reply.json() == {"shop": 7, "page": 3, "size": 50, "token": "abc"}
    assert c.get("/items/7").json() == {"shop": 7, "page": 1, "size": 20, "token": None}


def aliases(p: Probe) -> None:
    reply = p.client.get("/orders/5?page=2&ids=1&ids=2", headers={"X-Token": "tk"}, cookies={"sid": "zz"})
    assert reply.json() == {"order_id": 5, "page": 2, "ids": [1, 2], "x_token": "tk", "sid": "zz"}


def plain(p: Probe) -> None:
    reply = p.client.get("/search?q=naja&limit=5&exact=yes&color=green&tags=a&tags=b&since=")
    assert reply.json() == {"q": "naja", "limit": 5, "ratio": 1.0, "exact": True, "color": "green",
                            "sort": "asc", "tags": ["a", "b"], "since": None}


def bodies(p: Probe) -> None:
    c = p.client
    reply = c.post("/users", json={"name": "ann", "age": 30, "address": {"city": "Oslo", "zip": 150}})
    assert reply.json() == {"name": "ann", "city": "Oslo", "tags": []}
    reply = c.post("/orders", json=[{"sku": "a", "qty": 2}, {"sku": "b", "qty": 3}])
    assert reply.json() == {"items": 5}


def bad_arguments(p: Probe) -> None:
    reply = p.client.get("/report?month=may", headers={"X-Tenant": "acme"})
    assert reply.status_code == 400
    assert reply.json() == {
        "code": 400, "message": "Invalid request",
        "explain": "Parameter[year] is required; Parameter[month]: not an integer; "
                   "Header[x_tenant]: not an integer.",
        "errors": [
            {"name": "year", "in": "query", "expected": "int", "received": None, "reason": "required"},
            {"name": "month", "in": "query", "expected": "int", "received": "may", "reason": "not an integer"},
            {"name": "x_tenant", "in": "header", "expected": "int", "received": "acme",
             "reason": "not an integer"}]}


def error_page(p: Probe) -> None:
    reply = p.client.get("/square?n=two")
    assert (reply.status_code, reply.json()) == (400, {"error": "Parameter[n]: not an integer."})


def model_binding(p: Probe) -> None:
    assert p.client.get("/hello?name=ann").json() == {"hello": "ann", "other": "other is not bound"}


def depends(p: Probe) -> None:
    c, events = p.client, p.ns["EVENTS"]
    assert c.get("/me", headers={"Authorization": "s3cret"}).json() == {"user": "ann", "dsn": "sqlite://memory"}
    assert events == ["closed sqlite://memory"]
    assert c.get("/me").status_code == 401
    assert events == ["closed sqlite://memory"] * 2


def scopes(p: Probe) -> None:
    c, events = p.client, p.ns["EVENTS"]
    assert c.get("/work?path=elsewhere").json() == {"pool": "pool(app.toml)", "rid": 1, "audit": "audit [1]",
                                                    "buffer": []}
    assert c.get("/work").json() == {"pool": "pool(app.toml)", "rid": 2, "audit": "audit [2]", "buffer": []}
    assert events == ["pool opened"]


def scopes_stopped(p: Probe) -> None:
    assert p.ns["EVENTS"] == ["pool opened", "pool closed"]


def cleanups(p: Probe) -> None:
    c, events = p.client, p.ns["EVENTS"]
    reply = c.get("/save")
    assert (reply.status_code, reply.text) == (200, "saved")
    assert events == ["begin", "commit"]
    events.clear()
    assert c.get("/save?fail=conflict").status_code == 409
    assert events == ["begin", "rollback"]
    events.clear()
    assert c.get("/save?fail=yes").status_code == 400
    assert events == ["begin", "rollback"]


def async_providers(p: Probe) -> None:
    c, events = p.client, p.ns["EVENTS"]
    assert c.get("/proxy", headers={"X-Tenant": "acme"}).json() == {"tenant": "acme",
                                                                   "client": "https://api.example"}
    assert c.get("/fetch").json() == {"answer": "GET https://api.example/status"}
    assert events == ["client opened"]


def async_providers_stopped(p: Probe) -> None:
    assert p.ns["EVENTS"] == ["client opened", "client closed"]


def overrides(p: Probe) -> None:
    assert p.client.get("/db").text == "production database"
    assert p.ns["app"].dependency_overrides == {}


def cycle(p: Probe) -> None:
    assert "dependency cycle a -> b -> a" in p.ns["MESSAGE"]


EXPECTATIONS: dict[str, Expect] = {
    "markers": Expect(markers),
    "typed-markers": Expect(typed_markers),
    "aliases": Expect(aliases),
    "plain": Expect(plain),
    "bodies": Expect(bodies),
    "bad-arguments": Expect(bad_arguments),
    "error-page": Expect(error_page),
    "model-binding": Expect(model_binding),
    "depends": Expect(depends),
    "scopes": Expect(scopes, scopes_stopped),
    "cleanups": Expect(cleanups),
    "async-providers": Expect(async_providers, async_providers_stopped),
    "overrides": Expect(overrides),
    "cycle": Expect(cycle),
}

#: Examples that do not serve requests (they end in a failed build).
NO_CLIENT = frozenset({"cycle"})


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


@contextlib.contextmanager
def example(name: str) -> Iterator[dict[str, Any]]:
    try:
        yield run_module(TEST_BLOCKS[name])
    finally:
        sys.modules.pop(f"docs_injection_{name.replace('-', '_')}", None)


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_example(name: str) -> None:
    expect = EXPECTATIONS[name]
    with example(name) as ns:
        app = ns.get("app")
        assert isinstance(app, naja_atra.Application), "a test block must define `app = Application()`"
        if name in NO_CLIENT:
            expect.check(Probe(ns, app.test_client()))
            return
        with app.test_client() as client:
            probe = Probe(ns, client)
            expect.check(probe)
        if expect.after_stop is not None:
            expect.after_stop(probe)
