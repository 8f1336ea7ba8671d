"""The examples of ``docs/openapi.md`` (its sections before "The docs page") run, and
build the documents the page shows; each document is a valid OpenAPI 3.1 document.

The page's convention is ``docs/injection.md``'s: a ``python`` block after
``<!-- test: NAME -->`` is a complete program, run as a fresh module, and
``EXPECTATIONS[NAME]`` checks what it defined.
"""
from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, Callable

import pytest
from openapi_spec_validator import validate

from tests.docs.test_injection_docs import Block, parse_blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.md"
#: The part of the page this test owns; the docs page section has tests of its own.
OWN_PART = DOC.read_text(encoding="utf-8").split("\n## The docs page", 1)[0]
BLOCKS = {b.name: b for b in parse_blocks(OWN_PART) if b.kind == "test"}


def run_and_check(block: Block, check: Callable[[dict[str, Any]], None]) -> None:
    """Execute ``block`` as a fresh module (registered while it runs and is checked: types
    are resolved through their module) and check it; tracebacks show the markdown lines."""
    name = f"docs_openapi_{block.name.replace('-', '_')}"
    module = types.ModuleType(name)
    module.__file__ = str(DOC)
    sys.modules[name] = module
    try:
        exec(compile("\n" * (block.line - 1) + block.code, str(DOC), "exec"), module.__dict__)
        check(module.__dict__)
    finally:
        del sys.modules[name]


def check_first(ns: dict[str, Any]) -> None:
    document = ns["DOCUMENT"]
    validate(document)
    assert document["info"] == {"title": "Shop", "version": "1.0.0", "description": "Items and orders."}
    ref = {"$ref": "#/components/schemas/Item"}
    assert document["paths"]["/items/{item_id}"]["get"] == {
        "tags": ["items"],
        "summary": "Show one item.",
        "description": "Prices are given in ``currency``.",
        "operationId": "show_item",
        "parameters": [
            {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "currency", "in": "query", "required": False, "schema": {"type": "string", "default": "EUR"}},
            {"name": "x-trace", "in": "header", "required": False, "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "Successful response", "content": {"application/json": {"schema": ref}}},
            "400": {"description": "Missing or invalid arguments", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/InjectionError"}}}}}}
    assert document["paths"]["/items"]["post"]["requestBody"] == {
        "content": {"application/json": {"schema": ref}}, "required": True}
    assert document["components"]["schemas"]["Item"] == {
        "type": "object", "title": "Item",
        "properties": {"name": {"type": "string"}, "price": {"type": "number"},
                       "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["name", "price"],
        "description": "An item for sale."}


def check_providers(ns: dict[str, Any]) -> None:
    validate(ns["app"].openapi())
    assert ns["PARAMETERS"] == [
        {"name": "authorization", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "default": 1}}]


def check_plugin(ns: dict[str, Any]) -> None:
    document = ns["DOCUMENT"]
    validate(document)
    assert document["security"] == [{"bearer": []}]
    assert document["servers"] == [{"url": "https://shop.example"}]
    assert document["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}


def check_own_kind(ns: dict[str, Any]) -> None:
    validate(ns["app"].openapi())
    operation = ns["OPERATION"]
    assert operation["parameters"] == [
        {"name": "X-Tenant", "in": "header", "required": False, "schema": {"type": "string", "default": "public"}}]
    assert operation["responses"] == {"200": {"description": "Successful response", "content": {
        "text/html": {"schema": {"type": "string"}}}}}
    # The plugin's resolver serves the requests the document describes.
    client = ns["app"].test_client()
    assert client.get("/home", headers={"X-Tenant": "acme"}).text == "hello acme"
    assert client.get("/home").text == "hello public"


EXPECTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "first": check_first,
    "providers": check_providers,
    "plugin": check_plugin,
    "own-kind": check_own_kind,
}


def test_every_example_has_a_check() -> None:
    assert set(BLOCKS) == set(EXPECTATIONS)


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_example(name: str) -> None:
    run_and_check(BLOCKS[name], EXPECTATIONS[name])
