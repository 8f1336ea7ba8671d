"""The OpenAPI document of the built-in argument kinds: markers, aliases, typed names, path
values read by name, bodies and providers, as docs/injection.md lists them.

The parameters and bodies are what the application's own resolvers say they read, so the
document follows the framework: a test here fails if a kind stops describing itself or
describes itself wrongly.
"""
from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional

from openapi_spec_validator import validate
from typing_extensions import Annotated, Literal, TypedDict

from naja_atra import (
    Application,
    Body,
    BytesBody,
    Cookie,
    Depends,
    FromCookie,
    FromHeader,
    FromPath,
    Header,
    JSONBody,
    MultipartFile,
    Parameter,
    Parameters,
    PathValue,
    Query,
    Request,
    Response,
    Session,
)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Address:
    city: str
    zip: int


@dataclass
class Customer:
    """A customer."""

    name: str
    address: Address
    tags: List[str]


class Line(TypedDict):
    sku: str
    qty: int


EVENTS: list[str] = []


def database() -> Iterator[str]:
    EVENTS.append("open")
    yield "db"
    EVENTS.append("close")


def pool() -> str:
    return "pool"


def current_user(authorization: FromHeader[str], db: str = Depends(database),
                 shared: str = Depends(pool, scope="app")) -> str:
    return authorization


def tenant(x_tenant: FromHeader[str] = "public", db: str = Depends(database)) -> str:
    return x_tenant


def make_app() -> Application:
    app = Application(load_entry_points=False)

    @app.route("/shops/{shop}/orders/{order_id}", method="GET")
    def show_order(shop: int, order_id: FromPath[uuid.UUID], request: Request, response: Response,
                   session: Session, page: Query[int] = 1, ids: Query[List[int]] = [],  # noqa: B006
                   since: Optional[datetime.date] = None, color: Color = Color.RED,
                   sort: Literal["asc", "desc"] = "asc", x_trace: FromHeader[Optional[str]] = None,
                   sid: FromCookie[str] = "", limit: decimal.Decimal = decimal.Decimal("9.50")) -> Customer:
        """Show one order."""
        return Customer("ann", Address("Oslo", 150), [])

    @app.route("/legacy/{name}", method="GET")
    def legacy(name=PathValue(), q=Parameter("q", default="all"), tag=Parameters("tag"),  # type: ignore[no-untyped-def]
               agent=Header("User-Agent"), sid=Cookie("sid"), plain=None, bare=None):
        return {"name": name}

    @app.route("/customers", method="POST")
    def create_customer(customer: Customer, user: str = Depends(current_user),
                        who: str = Depends(tenant)) -> Customer:
        return customer

    @app.route("/orders", method="POST")
    def create_order(lines: Body[List[Line]]) -> Dict[str, int]:
        return {"items": sum(line["qty"] for line in lines)}

    @app.route("/json", method="POST")
    def raw_json(data: JSONBody) -> Dict[str, Any]:
        return dict(data)

    @app.route("/bytes", method="POST")
    def raw_bytes(data: BytesBody) -> bytes:
        return bytes(data)

    @app.route("/upload", method="POST")
    def upload(title: str, image: MultipartFile = MultipartFile("image")) -> str:
        return title

    @app.route("/typed/{count}", method="GET")
    def typed(count: Annotated[int, PathValue()], token: Annotated[str, Header("X-Token")] = "") -> None:
        return None

    return app


def document_of(app: Application) -> dict[str, Any]:
    document = app.openapi()
    validate(document)
    return document


def test_the_document_of_every_kind_validates() -> None:
    document = document_of(make_app())
    assert sorted(document["paths"]) == ["/bytes", "/customers", "/json", "/legacy/{name}", "/orders",
                                         "/shops/{shop}/orders/{order_id}", "/typed/{count}", "/upload"]


def test_typed_parameters() -> None:
    document = document_of(make_app())
    operation = document["paths"]["/shops/{shop}/orders/{order_id}"]["get"]
    assert operation["summary"] == "Show one order."
    assert operation["parameters"] == [
        {"name": "shop", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}},
        {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "default": 1}},
        {"name": "ids", "in": "query", "required": False,
         "schema": {"type": "array", "items": {"type": "integer"}, "default": []}},
        {"name": "since", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}},
        {"name": "color", "in": "query", "required": False,
         "schema": {"$ref": "#/components/schemas/Color", "default": "red"}},
        {"name": "sort", "in": "query", "required": False,
         "schema": {"type": "string", "enum": ["asc", "desc"], "default": "asc"}},
        {"name": "x-trace", "in": "header", "required": False, "schema": {"type": "string"}},
        {"name": "sid", "in": "cookie", "required": False, "schema": {"type": "string", "default": ""}},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "string", "format": "decimal", "default": "9.50"}},
    ]
    assert "requestBody" not in operation
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Customer"}
    assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InjectionError"}
    assert document["components"]["schemas"]["Color"] == {"type": "string", "title": "Color",
                                                          "enum": ["red", "green"]}


def test_the_markers_of_naja_atra_1() -> None:
    operation = document_of(make_app())["paths"]["/legacy/{name}"]["get"]
    by_name = {(p["in"], p["name"]): p for p in operation["parameters"]}
    assert by_name[("path", "name")] == {"name": "name", "in": "path", "required": True,
                                         "schema": {"type": "string"}}
    assert by_name[("query", "q")]["required"] is False
    assert by_name[("query", "q")]["schema"]["type"] == "string"
    assert by_name[("query", "tag")]["schema"]["type"] == "array"
    assert by_name[("header", "User-Agent")]["schema"]["type"] == "string"
    assert by_name[("cookie", "sid")]["in"] == "cookie"
    assert set(by_name) >= {("path", "name"), ("query", "q"), ("query", "tag"), ("header", "User-Agent"),
                            ("cookie", "sid")}


def test_markers_in_annotated() -> None:
    operation = document_of(make_app())["paths"]["/typed/{count}"]["get"]
    assert operation["parameters"] == [
        {"name": "count", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "X-Token", "in": "header", "required": False, "schema": {"type": "string", "default": ""}},
    ]


def test_bodies() -> None:
    document = document_of(make_app())
    paths = document["paths"]
    assert paths["/customers"]["post"]["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Customer"}}}, "required": True}
    assert paths["/orders"]["post"]["requestBody"] == {
        "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Line"}}}},
        "required": True}
    assert paths["/orders"]["post"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "object", "additionalProperties": {"type": "integer"}}
    assert list(paths["/json"]["post"]["requestBody"]["content"]) == ["application/json"]
    assert paths["/bytes"]["post"]["requestBody"] == {"content": {"application/octet-stream": {}}}
    upload = paths["/upload"]["post"]
    assert upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["image"] == {
        "type": "string", "contentMediaType": "application/octet-stream"}
    # ``title: str`` reads the query string or a form body's field, as naja-atra 1.x does.
    assert upload["parameters"] == [{"name": "title", "in": "query", "required": True,
                                     "schema": {"type": "string"}}]
    schemas = document["components"]["schemas"]
    assert schemas["Customer"] == {"type": "object", "title": "Customer", "description": "A customer.",
                                   "properties": {"name": {"type": "string"},
                                                  "address": {"$ref": "#/components/schemas/Address"},
                                                  "tags": {"type": "array", "items": {"type": "string"}}},
                                   "required": ["name", "address", "tags"]}
    assert schemas["Line"]["required"] == ["sku", "qty"]


def test_arguments_of_providers() -> None:
    """A provider's request arguments are the route's too; an app-scoped one reads no request."""
    operation = document_of(make_app())["paths"]["/customers"]["post"]
    assert operation["parameters"] == [
        {"name": "authorization", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "x-tenant", "in": "header", "required": False, "schema": {"type": "string", "default": "public"}},
    ]


def test_the_document_leaves_the_served_application_as_it_was() -> None:
    """Asking the resolvers again for the document must not change what the live routes
    do: one 400 still lists every bad argument, providers still run once per request."""
    app = make_app()
    client = app.test_client()
    bad = client.get("/shops/x/orders/not-a-uuid?page=two")
    assert bad.status_code == 400
    before = bad.json()
    document_of(app)
    document_of(app)
    again = client.get("/shops/x/orders/not-a-uuid?page=two")
    assert again.status_code == 400
    assert again.json() == before
    assert [e["name"] for e in again.json()["errors"]] == ["shop", "order_id", "page"]
    EVENTS.clear()
    ok = client.post("/customers", json={"name": "ann", "address": {"city": "Oslo", "zip": 150}, "tags": []},
                     headers={"Authorization": "k"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["name"] == "ann"
    assert EVENTS == ["open", "close"]
    missing = client.post("/customers", json={"name": "ann", "address": {"city": "Oslo"}, "tags": []})
    assert missing.status_code == 400
    assert sorted(e["name"] for e in missing.json()["errors"]) == ["address.zip", "authorization"]


def test_an_override_is_documented_while_it_is_in_place() -> None:
    app = make_app()

    def fake_user(x_test_user: FromHeader[str]) -> str:
        return x_test_user

    def header_names(document: dict[str, Any]) -> list[str]:
        return [p["name"] for p in document["paths"]["/customers"]["post"]["parameters"]]

    assert header_names(document_of(app)) == ["authorization", "x-tenant"]
    with app.override(current_user, fake_user):
        assert header_names(document_of(app)) == ["x-test-user", "x-tenant"]
    assert header_names(document_of(app)) == ["authorization", "x-tenant"]
