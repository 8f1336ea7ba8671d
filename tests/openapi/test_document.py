"""The OpenAPI document of an application (``app.openapi()``): routes, operations, ids,
docstrings, tags, responses and the ``naja_atra_openapi`` hook.

The arguments here come from a plugin of the tests (``WhereFrom``) whose resolvers carry
an ``ArgumentSource``, as any plugin's may: the document is built from what the
application's resolvers say, whoever made them. ``test_builtin_arguments.py`` does the
same with the built-in argument kinds. Every document is checked by
``openapi_spec_validator``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional

from openapi_spec_validator import validate
from typing_extensions import Annotated

from naja_atra import Application, Redirect, Response, StaticFile, hookimpl
from naja_atra.http.forms import MultipartFile
from naja_atra.injection.source import ArgumentSource, describe

INJECTION_ERROR = {"$ref": "#/components/schemas/InjectionError"}


class WhereFrom:
    """``Annotated`` metadata of the tests: read the parameter from ``location``."""

    def __init__(self, location: Any, name: str = "", media_type: str = "", infallible: bool = False) -> None:
        self.location = location
        self.name = name
        self.media_type = media_type
        self.infallible = infallible


class WhereFromPlugin:
    """Resolves ``WhereFrom`` parameters, and says where they come from."""

    @hookimpl
    def naja_atra_make_resolver(self, app: Application, route: Any, param: Any) -> Any:
        where = next((m for m in param.metadata if isinstance(m, WhereFrom)), None)
        if where is None:
            return None
        # A body's name is "" for the whole body; other values are named like the parameter by default.
        name = where.name if where.location == "body" else where.name or param.name
        default = param.default if param.has_default else None

        def resolve(ctx: Any) -> Any:
            request = ctx.request
            if where.location == "query":
                return request.parameter.get(name, default)
            if where.location == "header":
                return request.headers.get(name, default)
            if where.location == "path":
                return request.path_values.get(name)
            if where.location == "cookie":
                morsel = request.cookies.get(name)
                return morsel.value if morsel is not None else default
            return request.body
        if where.infallible:
            resolve.infallible = True  # type: ignore[attr-defined]
        source = ArgumentSource(where.location, name, param.annotation, not param.has_default, param.default,
                                where.media_type)
        return describe(resolve, source)


class TagsFromExtras:
    """Tags a route from its handler's ``tags`` attribute (as a router plugin might)."""

    @hookimpl
    def naja_atra_route_added(self, app: Application, route: Any) -> None:
        route.tags = tuple(getattr(route.handler, "tags", ()))
        if getattr(route.handler, "hidden", False):
            route.include_in_schema = False


def make_app(**options: Any) -> Application:
    app = Application(load_entry_points=False, **options)
    app.register(WhereFromPlugin(), name="where-from")
    app.register(TagsFromExtras(), name="tags-from-extras")
    return app


def document_of(app: Application) -> dict[str, Any]:
    document = app.openapi()
    validate(document)
    json.dumps(document)  # ready to be served as it is
    return document


@dataclass
class Item:
    """An item of a shop."""

    name: str
    price: float = 0.0


def test_info_and_an_empty_application() -> None:
    app = make_app(title="Shop", version="2.1.0", description="The shop's API.")
    assert document_of(app) == {"openapi": "3.1.0",
                                "info": {"title": "Shop", "version": "2.1.0", "description": "The shop's API."},
                                "paths": {}}
    assert document_of(make_app())["info"] == {"title": "naja_atra application", "version": "0.1.0"}


def test_parameters_of_every_location() -> None:
    app = make_app()

    @app.route("/shops/{shop}/items/{item_id}", method="GET")
    def show_item(shop: Annotated[int, WhereFrom("path")],
                  page: Annotated[int, WhereFrom("query")] = 1,
                  tags: Annotated[List[str], WhereFrom("query", "tag")] = [],  # noqa: B006 - never mutated
                  token: Annotated[str, WhereFrom("header", "x_token")] = "",
                  sid: Annotated[Optional[str], WhereFrom("cookie")] = None,
                  version: Annotated[int, WhereFrom("header", "X-Version")] = 1) -> List[Item]:
        return []

    operation = document_of(app)["paths"]["/shops/{shop}/items/{item_id}"]["get"]
    assert operation["parameters"] == [
        {"name": "shop", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "default": 1}},
        {"name": "tag", "in": "query", "required": False,
         "schema": {"type": "array", "items": {"type": "string"}, "default": []}},
        {"name": "x-token", "in": "header", "required": False, "schema": {"type": "string", "default": ""}},
        {"name": "sid", "in": "cookie", "required": False, "schema": {"type": "string"}},
        {"name": "X-Version", "in": "header", "required": False, "schema": {"type": "integer", "default": 1}},
        # No argument reads {item_id}: still a parameter, as OpenAPI requires for each template.
        {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}},
    ]
    assert operation["operationId"] == "show_item"
    assert operation["responses"]["200"] == {"description": "Successful response", "content": {
        "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}}
    assert "requestBody" not in operation


def test_a_parameter_read_twice_is_listed_once() -> None:
    app = make_app()

    @app.route("/twice", method="GET")
    def twice(a: Annotated[int, WhereFrom("query", "n")] = 1, b: Annotated[str, WhereFrom("query", "n")] = "",
              c: Annotated[str, WhereFrom("header", "X-A")] = "", d: Annotated[str, WhereFrom("header", "x-a")] = ""
              ) -> None:
        return None

    parameters = document_of(app)["paths"]["/twice"]["get"]["parameters"]
    assert [(p["in"], p["name"]) for p in parameters] == [("query", "n"), ("header", "X-A")]


def test_bodies_json_form_multipart_and_raw() -> None:
    app = make_app()

    @app.route("/items", method="POST")
    def create_item(item: Annotated[Item, WhereFrom("body", "", "application/json")]) -> Item:
        return item

    @app.route("/upload", method=["POST", "PUT"])
    def upload(title: Annotated[str, WhereFrom("body", "title", "multipart/form-data")],
               file: Annotated[MultipartFile, WhereFrom("body", "file", "multipart/form-data")],
               note: Annotated[Optional[str], WhereFrom("body", "note", "multipart/form-data")] = None) -> str:
        return "ok"

    @app.route("/login", method="POST")
    def login(user: Annotated[str, WhereFrom("body", "user", "application/x-www-form-urlencoded")],
              remember: Annotated[bool, WhereFrom("body", "remember", "application/x-www-form-urlencoded")] = False,
              ) -> Redirect:
        return Redirect("/")

    @app.route("/raw", method="POST")
    def raw(data: Annotated[bytes, WhereFrom("body", "", "application/octet-stream")] = b"") -> bytes:
        return data

    paths = document_of(app)["paths"]
    assert paths["/items"]["post"]["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}, "required": True}
    multipart = {"content": {"multipart/form-data": {"schema": {
        "type": "object",
        "properties": {"title": {"type": "string"},
                       "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                       "note": {"type": "string"}},
        "required": ["title", "file"]}}}, "required": True}
    assert paths["/upload"]["post"]["requestBody"] == multipart
    assert paths["/upload"]["put"]["requestBody"] == multipart
    assert paths["/upload"]["post"]["operationId"] == "upload_post"
    assert paths["/upload"]["put"]["operationId"] == "upload_put"
    assert paths["/upload"]["post"]["responses"]["200"]["content"] == {"text/html": {"schema": {"type": "string"}}}
    assert paths["/login"]["post"]["requestBody"] == {"content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object",
        "properties": {"user": {"type": "string"}, "remember": {"type": "boolean", "default": False}},
        "required": ["user"]}}}, "required": True}
    assert paths["/login"]["post"]["responses"]["302"] == {"description": "Redirect", "headers": {
        "Location": {"description": "Where to go", "schema": {"type": "string"}}}}
    assert paths["/raw"]["post"]["requestBody"] == {"content": {"application/octet-stream": {}}}
    assert paths["/raw"]["post"]["responses"]["200"]["content"] == {"application/octet-stream": {}}


@dataclass
class Page:
    items: List[Item]
    next: Optional[str] = None


def test_responses_from_return_annotations() -> None:
    app = make_app()

    def route(path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return app.route(path, method="GET")

    @route("/none")
    def none() -> None:
        return None

    @route("/unannotated")
    def unannotated():  # type: ignore[no-untyped-def]
        return {}

    @route("/page")
    def page() -> Page:
        return Page([])

    @route("/maybe")
    def maybe() -> Optional[Page]:
        return None

    @route("/mapping")
    def mapping() -> Dict[str, int]:
        return {}

    @route("/response")
    def response() -> Response:
        return Response(204)

    @route("/file")
    def file() -> StaticFile:
        return StaticFile(__file__)

    @route("/stream")
    def stream() -> Iterator[bytes]:
        yield b""

    @route("/status")
    def status() -> int:
        return 204

    @route("/text-or-json")
    def text_or_json() -> Any:
        return ""

    @route("/async")
    async def async_page() -> Page:
        return Page([])

    @route("/broken")
    def broken() -> NoSuchType:  # type: ignore[name-defined]  # noqa: F821 - unresolvable on purpose
        return None

    paths = document_of(app)["paths"]

    def success(path: str) -> Any:
        return paths[path]["get"]["responses"]

    ok = {"200": {"description": "Successful response"}}
    page_json = {"200": {"description": "Successful response",
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}}
    assert success("/none") == {"200": {"description": "Successful response, no content"}}
    assert success("/unannotated") == ok
    assert success("/page") == page_json
    assert success("/maybe") == page_json  # None sends no body: it is not a JSON null
    assert success("/async") == page_json
    assert success("/mapping")["200"]["content"] == {"application/json": {"schema": {
        "type": "object", "additionalProperties": {"type": "integer"}}}}
    for path in ("/response", "/file", "/stream", "/status", "/broken", "/text-or-json"):
        assert success(path) == ok, path


def test_the_400_when_an_argument_may_be_refused() -> None:
    app = make_app()

    @app.route("/plain", method="GET")
    def plain() -> None:
        return None

    @app.route("/required", method="GET")
    def required(q: Annotated[str, WhereFrom("query")]) -> None:
        return None

    @app.route("/path/{name}", method="GET")
    def path(name: Annotated[str, WhereFrom("path")]) -> None:
        return None

    document = document_of(app)
    paths = document["paths"]
    assert set(paths["/plain"]["get"]["responses"]) == {"200"}
    # A resolver the plugin did not mark ``infallible`` may refuse the request.
    assert paths["/path/{name}"]["get"]["responses"]["400"] == {
        "description": "Missing or invalid arguments", "content": {"application/json": {"schema": INJECTION_ERROR}}}
    assert paths["/required"]["get"]["responses"]["400"]["content"]["application/json"]["schema"] == INJECTION_ERROR
    schemas = document["components"]["schemas"]
    assert schemas["InjectionError"]["required"] == ["code", "message", "explain", "errors"]
    assert schemas["InjectionError"]["properties"]["errors"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/ArgumentError"}}
    assert schemas["ArgumentError"]["properties"]["in"] == {
        "type": "string", "enum": ["query", "form", "header", "cookie", "path", "body"]}


def test_an_infallible_optional_argument_adds_no_400() -> None:
    app = make_app()

    @app.route("/quiet", method="GET")
    def quiet(q: Annotated[str, WhereFrom("query", infallible=True)] = "") -> None:
        return None

    @app.route("/loud", method="GET")
    def loud(q: Annotated[str, WhereFrom("query", infallible=True)]) -> None:
        return None

    paths = document_of(app)["paths"]
    assert set(paths["/quiet"]["get"]["responses"]) == {"200"}
    assert set(paths["/loud"]["get"]["responses"]) == {"200", "400"}  # required: may be missing


def test_the_400_with_an_error_page_for_it_has_no_json_schema() -> None:
    app = make_app()

    @app.error_message("400")
    def bad_request(code: int, message: str, explain: str) -> str:
        return f"<p>{explain}</p>"

    @app.route("/required", method="GET")
    def required(q: Annotated[str, WhereFrom("query")]) -> None:
        return None

    document = document_of(app)
    assert document["paths"]["/required"]["get"]["responses"]["400"] == {"description": "Missing or invalid arguments"}
    assert "components" not in document


def test_docstrings_give_summary_and_description() -> None:
    app = make_app()

    @app.route("/one", method="GET")
    def one() -> None:
        """List the items."""

    @app.route("/two", method="GET")
    def two() -> None:
        """Show one item.

        The item is looked up by its id;
        a missing one is a 404.
        """

    @app.route("/none", method="GET")
    def nothing() -> None:
        return None

    paths = document_of(app)["paths"]
    assert paths["/one"]["get"]["summary"] == "List the items."
    assert "description" not in paths["/one"]["get"]
    assert paths["/two"]["get"]["summary"] == "Show one item."
    assert paths["/two"]["get"]["description"] == "The item is looked up by its id;\na missing one is a 404."
    assert "summary" not in paths["/none"]["get"]


def test_operation_ids_are_unique() -> None:
    app = make_app()

    def make(path: str, method: Any = "GET") -> None:
        def handler() -> None:
            return None
        handler.__name__ = "handler"
        app.route(path, method=method)(handler)

    make("/a")
    make("/b")
    make("/c", ["GET", "DELETE"])
    make("/d")
    paths = document_of(app)["paths"]
    assert [paths[p][m]["operationId"] for p, m in [("/a", "get"), ("/b", "get"), ("/c", "get"), ("/c", "delete"),
                                                    ("/d", "get")]] == [
        "handler", "handler_2", "handler_get", "handler_delete", "handler_3"]


def test_a_route_of_every_method_is_get_and_post_with_the_body_on_post() -> None:
    app = make_app()

    @app.route("/form")
    def form(name: Annotated[str, WhereFrom("query")],
             data: Annotated[Item, WhereFrom("body", "", "application/json")]) -> None:
        return None

    item = document_of(app)["paths"]["/form"]
    assert set(item) == {"get", "post"}
    assert item["get"]["operationId"] == "form_get"
    assert item["post"]["operationId"] == "form_post"
    assert "requestBody" not in item["get"]
    assert item["post"]["requestBody"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}
    assert item["get"]["parameters"] == item["post"]["parameters"]
    # Two operations, two objects: a plugin changing one leaves the other alone.
    assert item["get"]["parameters"] is not item["post"]["parameters"]


def test_routes_left_out() -> None:
    app = make_app()

    @app.route("/kept", method="GET")
    def kept() -> None:
        return None

    @app.route("/hidden", method="GET")
    def hidden() -> None:
        return None
    hidden.hidden = True  # type: ignore[attr-defined]

    @app.route(regexp=r"^/reg/(\d+)$", method="GET")
    def by_regexp() -> None:
        return None

    @app.route("/files/*", method="GET")
    def one_wildcard() -> None:
        return None

    @app.route("/static/**", method="GET")
    def rest_wildcard() -> None:
        return None

    @app.route("/odd", method="PROPFIND")
    def odd_method() -> None:
        return None

    @app.websocket_handler("/ws")
    class Socket:
        def on_text_message(self, text: str) -> None:
            return None

    assert list(document_of(app)["paths"]) == ["/kept"]


def test_templates_inside_a_segment_and_same_shape_paths() -> None:
    app = make_app()

    @app.route("/files/{name}.txt", method="GET")
    def text_file(name: Annotated[str, WhereFrom("path")]) -> str:
        return name

    @app.route("/users/{name}", method="PROPFIND")
    def not_in_openapi() -> None:
        return None

    @app.route("/users/{user_id}", method="GET")
    def show_user() -> None:
        return None

    @app.route("/users/{login}", method="DELETE")
    def delete_user() -> None:
        return None

    paths = document_of(app)["paths"]
    assert paths["/files/{name}.txt"]["get"]["parameters"] == [
        {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
    # OpenAPI treats /users/{user_id} and /users/{login} as one path: the first documented
    # one is kept (the PROPFIND route is not documented).
    assert list(paths) == ["/files/{name}.txt", "/users/{user_id}"]


def test_the_first_of_two_routes_for_one_operation_is_documented() -> None:
    app = make_app()

    @app.route("/action", method="GET", params="do=list")
    def list_things() -> None:
        return None

    @app.route("/action", method="GET")
    def other_things() -> None:
        return None

    item = document_of(app)["paths"]["/action"]
    first = app.routes()[0].handler.__name__
    assert item["get"]["operationId"] == first


def test_tags_and_methods_of_a_controller_class() -> None:
    app = make_app()

    @app.route("/books", method="GET")
    class Books:
        def __init__(self) -> None:
            self.shelf = ["a"]

        @app.route("/{book_id}")
        def show(self, book_id: Annotated[int, WhereFrom("path")]) -> None:
            """One book."""

    Books.show.tags = ("books", "library")  # type: ignore[attr-defined]

    @app.route("/shelves", method="GET")
    def shelves() -> None:
        return None
    shelves.tags = ("library",)  # type: ignore[attr-defined]

    document = document_of(app)
    operation = document["paths"]["/books/{book_id}"]["get"]
    assert operation["tags"] == ["books", "library"]
    assert operation["summary"] == "One book."
    assert operation["parameters"] == [{"name": "book_id", "in": "path", "required": True,
                                        "schema": {"type": "integer"}}]
    assert document["paths"]["/shelves"]["get"]["tags"] == ["library"]
    # Each tag once, in the order the route table first shows it.
    assert sorted(tag["name"] for tag in document["tags"]) == ["books", "library"]


class EditsTheDocument:
    @hookimpl
    def naja_atra_openapi(self, app: Application, document: dict[str, Any]) -> None:
        document["info"]["x-edited"] = True
        document.setdefault("servers", []).append({"url": "https://api.example"})


class ReplacesTheDocument:
    @hookimpl
    def naja_atra_openapi(self, app: Application, document: dict[str, Any]) -> dict[str, Any]:
        return {**document, "info": {**document["info"], "title": "Replaced"}}


def test_plugins_edit_or_replace_the_document() -> None:
    app = make_app(title="Original")

    @app.route("/x", method="GET")
    def x() -> None:
        return None

    app.register(EditsTheDocument(), name="edits")
    app.register(ReplacesTheDocument(), name="replaces")
    document = document_of(app)
    assert document["info"] == {"title": "Replaced", "version": "0.1.0", "x-edited": True}
    assert document["servers"] == [{"url": "https://api.example"}]
    assert list(document["paths"]) == ["/x"]


def test_each_call_builds_a_new_document() -> None:
    app = make_app()

    @app.route("/x", method="GET")
    def x() -> None:
        return None

    first = document_of(app)
    first["paths"].clear()

    @app.route("/y", method="GET")
    def y() -> None:
        return None

    assert list(document_of(app)["paths"]) == ["/x", "/y"]


def test_the_plugins_arguments_really_resolve() -> None:
    """The described resolvers also serve requests: what the document says is read is read."""
    app = make_app()

    @app.route("/echo/{shop}", method="GET")
    def echo(shop: Annotated[str, WhereFrom("path")], page: Annotated[str, WhereFrom("query")] = "1",
             token: Annotated[str, WhereFrom("header", "X-Token")] = "") -> Dict[str, str]:
        return {"shop": shop, "page": page, "token": token}

    document_of(app)
    client = app.test_client()
    reply = client.get("/echo/s1?page=4", headers={"X-Token": "t"})
    assert reply.status_code == 200
    assert reply.json() == {"shop": "s1", "page": "4", "token": "t"}
