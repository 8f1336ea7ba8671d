"""The examples of ``docs/routers.md`` run, and answer what the page says.

The convention of ``tests/docs``: a fenced ``python`` block preceded by
``<!-- test: NAME -->`` is a complete program defining ``app``; it runs as a fresh module
and ``CHECKS[NAME]`` checks it through ``app.test_client()``. One preceded by
``<!-- compile -->`` is a fragment, only compiled. Every ``python`` block is one or the other.
"""
from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Callable

import pytest

from naja_atra import Application

from ..docs.test_injection_docs import Block, parse_blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "routers.md"
BLOCKS = parse_blocks(DOC.read_text(encoding="utf-8"))


def run(block: Block) -> dict[str, Any]:
    """Execute ``block`` as a fresh module; tracebacks show the markdown file's lines."""
    module = types.ModuleType(f"docs_routers_{block.name.replace('-', '_')}")
    module.__file__ = str(DOC)
    exec(compile("\n" * (block.line - 1) + block.code, str(DOC), "exec"), module.__dict__)
    return module.__dict__


def intro(app: Application) -> None:
    client = app.test_client()
    assert app.url_for("users.show", user_id=7) == "/v1/users/7"
    assert client.get("/v1/users/7").json() == {"id": 7}
    assert client.get("/v1/users").json() == [{"id": 1}]


def paths(app: Application) -> None:
    assert app.test_client().get("/v1/api/people/users/admin/stats").json() == {"users": 3}


def shortcuts(app: Application) -> None:
    client = app.test_client()
    assert client.get(app.url_for("item", item_id=3)).json() == {"id": 3}
    created = client.post("/items", json={"name": "pen"})
    assert (created.status_code, created.json()) == (201, {"created": "pen"})
    assert client.put("/items").status_code == 405


def url_for(app: Application) -> None:
    client = app.test_client()
    assert app.url_for("users.show", user_id=7, tab="posts") == "/v1/users/7?tab=posts"
    assert client.get("/v1/users/7?tab=posts").json() == {"id": 7, "tab": "posts"}
    assert app.url_for("tags", tag=["a b", "c"]) == "/tags?tag=a+b&tag=c"
    assert client.get("/tags?tag=a+b&tag=c").json() == {"tags": ["a b", "c"]}


CHECKS: dict[str, Callable[[Application], None]] = {
    "intro": intro, "paths": paths, "shortcuts": shortcuts, "url-for": url_for}


def test_every_python_block_is_tested_or_compiled() -> None:
    assert BLOCKS and all(b.kind in ("test", "compile") for b in BLOCKS), [b.line for b in BLOCKS if not b.kind]
    assert sorted(b.name for b in BLOCKS if b.kind == "test") == sorted(CHECKS)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.kind == "test"], ids=lambda b: b.name)
def test_example_runs_and_answers(block: Block) -> None:
    namespace = run(block)
    CHECKS[block.name](namespace["app"])


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.kind == "compile"], ids=lambda b: b.name)
def test_fragment_compiles(block: Block) -> None:
    compile(block.code, str(DOC), "exec")
