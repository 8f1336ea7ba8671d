"""Typed injection end to end: a real ``Application`` served on 127.0.0.1 (both drivers),
talked to with ``http.client``.

Covers the aliases and typed markers, conversion of query/form/header/cookie/path values
and JSON bodies, the JSON 400 that lists every bad argument of a request, how it is
rendered (and restyled), model bindings, and misconfigurations failing the build.
"""
from __future__ import annotations

import asyncio
import contextlib
import enum
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, List, Optional
from urllib.parse import urlencode

import pytest
from typing_extensions import Annotated, Literal, TypedDict

from naja_atra import (
    Application,
    ConfigurationError,
    Cookie,
    Header,
    HttpError,
    Parameter,
    Parameters,
    PathValue,
    RequestContext,
    Response,
    hookimpl,
)
from naja_atra.app.routes import Route
from naja_atra.http.errors import ArgumentError, InjectionError
from naja_atra.injection.aliases import Body, FromCookie, FromHeader, FromPath, Query
from naja_atra.injection.model_binding import ModelBinding, bindings_of
from naja_atra.injection.params import Param
from naja_atra.injection.plan import ArgumentPlan

from ..support import DRIVERS, Client, Reply, serving


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Address:
    city: str
    zip: int


@dataclass
class User:
    name: str
    age: int
    address: Address
    tags: List[str] = field(default_factory=list)
    color: Optional[Color] = None


class Item(TypedDict):
    sku: str
    qty: int


class Person:
    def __init__(self, name: str) -> None:
        self.name = name


class Token:
    def __init__(self, value: str) -> None:
        self.value = value


class Opaque:
    """A type no built-in kind knows: only a default model binding can serve it."""


# -- the server ----------------------------------------------------------------------


def typed_app() -> Application:
    app = Application(load_entry_points=False)

    @app.route("/search")
    def search(q: Query[str], page: Query[int] = 1, ratio: Query[float] = 1.0, exact: Query[bool] = False,
               color: Query[Color] = Color.RED, mode: Query[Literal["a", "b"]] = "a",
               ids: Query[Optional[List[int]]] = None, offset: Query[Optional[int]] = None,
               size: Annotated[int, Parameter("page-size")] = 20) -> dict[str, Any]:
        return {"q": q, "page": page, "ratio": ratio, "exact": exact, "color": color.value, "mode": mode,
                "ids": ids, "offset": offset, "size": size}

    @app.route("/parts/{item_id}")
    def parts(item_id: FromPath[int], x_retries: FromHeader[int] = 0, sid: FromCookie[Optional[str]] = None,
              lang: FromHeader[str] = "en") -> dict[str, Any]:
        return {"item_id": item_id, "retries": x_retries, "sid": sid, "lang": lang}

    @app.route("/markers/{item_id}")
    def markers(item_id: int = PathValue("item_id"), page: int = Parameter("page", default=1),
                count: int = Header("X-Count", default=0), limit: int = Parameter("limit", required=True),
                theme: str = Cookie("theme", default="light"),  # type: ignore[assignment]  # the value, as str
                ids: List[int] = Parameters("id")) -> dict[str, Any]:
        return {"item_id": item_id, "page": page, "count": count, "limit": limit, "theme": theme, "ids": ids}

    @app.route("/users/{user_id}", method="POST")
    def update_user(user_id: FromPath[int], user: Body[User], dry_run: Query[bool] = False) -> dict[str, Any]:
        return {"id": user_id, "name": user.name, "city": user.address.city, "tags": user.tags,
                "color": user.color.value if user.color else None, "dry_run": dry_run}

    @app.route("/plain-body", method="POST")
    def plain_body(user: User) -> str:
        return f"{user.name}@{user.address.zip}"

    @app.route("/orders", method="POST")
    async def orders(items: Body[List[Item]]) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"total": sum(i["qty"] for i in items)}

    @app.route("/optional-body", method="POST")
    def optional_body(data: Body[Optional[Address]] = None) -> str:
        return "none" if data is None else data.city

    @app.route("/form", method="POST")
    def form(age: Query[int], name: Query[str]) -> str:
        return f"{name}:{age}"

    @app.route("/async/{n}")
    async def async_typed(n: FromPath[int], factor: Query[float] = 1.0) -> str:
        await asyncio.sleep(0)
        return str(n * factor)

    @app.route("/class", method="GET")
    class Counter:
        @app.route("/add")
        def add(self, a: Query[int], b: Query[int] = 0) -> str:
            return str(a + b)

    @app.route("/no-params")
    def no_params() -> str:
        return "ok"

    @app.route("/http-error")
    def http_error() -> str:
        raise HttpError(409, "Conflict", "not an argument error")

    return app


@pytest.fixture(scope="module", params=DRIVERS)
def client(request: pytest.FixtureRequest) -> Iterator[Client]:
    """One server per driver for the module; stopped after."""
    with serving(typed_app(), request.param) as running:
        yield running


@pytest.fixture
def serve() -> Iterator[Callable[[Application], Client]]:
    """``serve(app)`` for tests that need their own application (threading driver)."""
    with contextlib.ExitStack() as stack:
        yield lambda app: stack.enter_context(serving(app))


def errors_of(reply: Reply) -> list[dict[str, Any]]:
    assert reply.status == 400, reply.body
    assert reply.headers.get("Content-Type") == "application/json"
    body = reply.json()
    assert (body["code"], body["message"]) == (400, "Invalid request")
    errors: list[dict[str, Any]] = body["errors"]
    return errors


# -- conversion ----------------------------------------------------------------------


def test_query_aliases_convert(client: Client) -> None:
    r = client.get("/search?q=x&page=2&ratio=0.5&exact=yes&color=GREEN&mode=b&ids=1&ids=20&offset=&page-size=5")
    assert r.status == 200, r.body
    assert r.json() == {"q": "x", "page": 2, "ratio": 0.5, "exact": True, "color": "green", "mode": "b",
                        "ids": [1, 20], "offset": None, "size": 5}
    assert client.get("/search?q=x").json() == {"q": "x", "page": 1, "ratio": 1.0, "exact": False, "color": "red",
                                                 "mode": "a", "ids": None, "offset": None, "size": 20}


def test_header_cookie_and_path_aliases_convert(client: Client) -> None:
    r = client.get("/parts/42", headers={"X-Retries": "3", "Cookie": "sid=abc", "lang": "fr"})
    assert r.json() == {"item_id": 42, "retries": 3, "sid": "abc", "lang": "fr"}
    assert client.get("/parts/1").json() == {"item_id": 1, "retries": 0, "sid": None, "lang": "en"}


def test_typed_markers_convert(client: Client) -> None:
    r = client.get("/markers/9?page=3&limit=10&id=1&id=2", headers={"X-Count": "4", "Cookie": "theme=dark"})
    assert r.json() == {"item_id": 9, "page": 3, "count": 4, "limit": 10, "theme": "dark", "ids": [1, 2]}
    assert client.get("/markers/9?limit=1").json() == {"item_id": 9, "page": 1, "count": 0, "limit": 1,
                                                       "theme": "light", "ids": []}


def test_json_body_as_a_dataclass(client: Client) -> None:
    user = {"name": "kj", "age": 30, "address": {"city": "Shenzhen", "zip": 518000}, "color": "green"}
    r = client.post_json("/users/7?dry_run=1", user)
    assert r.status == 200, r.body
    assert r.json() == {"id": 7, "name": "kj", "city": "Shenzhen", "tags": [], "color": "green", "dry_run": True}
    r = client.post_json("/plain-body", user)
    assert (r.status, r.body) == (200, b"kj@518000")


def test_json_body_as_a_list_of_typeddicts(client: Client) -> None:
    r = client.post_json("/orders", [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 3}])
    assert r.json() == {"total": 5}


def test_optional_body(client: Client) -> None:
    assert client.request("POST", "/optional-body").body == b"none"
    assert client.post_json("/optional-body", None).body == b"none"
    assert client.post_json("/optional-body", {"city": "c", "zip": 1}).body == b"c"


def test_async_and_class_controllers(client: Client) -> None:
    assert client.get("/async/3?factor=1.5").body == b"4.5"
    assert client.get("/class/add?a=2&b=3").body == b"5"
    assert errors_of(client.get("/async/x?factor=y")) == [
        {"name": "n", "in": "path", "expected": "int", "received": "x", "reason": "not an integer"},
        {"name": "factor", "in": "query", "expected": "float", "received": "y", "reason": "not a number"},
    ]


# -- the 400 that lists every bad argument ----------------------------------------------


def test_every_bad_query_parameter_is_listed(client: Client) -> None:
    r = client.get("/search?q=x&page=abc&ratio=z&exact=maybe&color=blue&mode=c&ids=1&ids=two&offset=q&page-size=")
    assert errors_of(r) == [
        {"name": "page", "in": "query", "expected": "int", "received": "abc", "reason": "not an integer"},
        {"name": "ratio", "in": "query", "expected": "float", "received": "z", "reason": "not a number"},
        {"name": "exact", "in": "query", "expected": "bool", "received": "maybe",
         "reason": "not a boolean (use true/false, 1/0, yes/no or on/off)"},
        {"name": "color", "in": "query", "expected": "Color", "received": "blue",
         "reason": "not one of 'red', 'green'"},
        {"name": "mode", "in": "query", "expected": "Literal['a', 'b']", "received": "c",
         "reason": "not one of 'a', 'b'"},
        {"name": "ids[1]", "in": "query", "expected": "int", "received": "two", "reason": "not an integer"},
        {"name": "offset", "in": "query", "expected": "int | None", "received": "q", "reason": "not an integer"},
        {"name": "page-size", "in": "query", "expected": "int", "received": "", "reason": "not an integer"},
    ]
    explain = r.json()["explain"]
    assert "Parameter[page]: not an integer" in explain and "Parameter[page-size]" in explain


def test_errors_from_every_location_in_one_answer(client: Client) -> None:
    r = client.get("/markers/x?page=p&id=1&id=b", headers={"X-Count": "many", "Cookie": "theme=dark"})
    assert errors_of(r) == [
        {"name": "item_id", "in": "path", "expected": "int", "received": "x", "reason": "not an integer"},
        {"name": "page", "in": "query", "expected": "int", "received": "p", "reason": "not an integer"},
        {"name": "X-Count", "in": "header", "expected": "int", "received": "many", "reason": "not an integer"},
        {"name": "limit", "in": "query", "expected": "int", "received": None, "reason": "required"},
        {"name": "id[1]", "in": "query", "expected": "int", "received": "b", "reason": "not an integer"},
    ]
    r = client.get("/parts/1", headers={"X-Retries": "r"})
    assert errors_of(r) == [
        {"name": "x_retries", "in": "header", "expected": "int", "received": "r", "reason": "not an integer"}]


def test_missing_required_values_are_listed_with_a_readable_explain(client: Client) -> None:
    r = client.get("/class/add")
    assert errors_of(r) == [{"name": "a", "in": "query", "expected": "int", "received": None, "reason": "required"}]
    assert r.json()["explain"] == "Parameter[a] is required."


def test_form_values_are_reported_in_form(client: Client) -> None:
    r = client.request("POST", "/form?name=q", urlencode({"age": "old"}),
                       {"Content-Type": "application/x-www-form-urlencoded"})
    assert errors_of(r) == [{"name": "age", "in": "form", "expected": "int", "received": "old",
                             "reason": "not an integer"}]
    r = client.request("POST", "/form", urlencode({"x": "1"}), {"Content-Type": "application/x-www-form-urlencoded"})
    assert [(e["name"], e["in"], e["reason"]) for e in errors_of(r)] == [("age", "form", "required"),
                                                                         ("name", "form", "required")]


def test_every_bad_body_field_is_listed_by_its_path(client: Client) -> None:
    data = {"name": 1, "age": "30", "address": {"city": "c"}, "tags": ["a", 2], "color": "blue"}
    r = client.post_json("/users/x?dry_run=perhaps", data)
    assert errors_of(r) == [
        {"name": "user_id", "in": "path", "expected": "int", "received": "x", "reason": "not an integer"},
        {"name": "name", "in": "body", "expected": "str", "received": 1, "reason": "expected a string"},
        {"name": "age", "in": "body", "expected": "int", "received": "30", "reason": "expected an integer"},
        {"name": "address.zip", "in": "body", "expected": "int", "received": None, "reason": "missing"},
        {"name": "tags[1]", "in": "body", "expected": "str", "received": 2, "reason": "expected a string"},
        {"name": "color", "in": "body", "expected": "Color | None", "received": "blue",
         "reason": "not one of 'red', 'green'"},
        {"name": "dry_run", "in": "query", "expected": "bool", "received": "perhaps",
         "reason": "not a boolean (use true/false, 1/0, yes/no or on/off)"},
    ]
    r = client.post_json("/orders", [{"sku": "a", "qty": "2"}, {"qty": 1}])
    assert errors_of(r) == [
        {"name": "[0].qty", "in": "body", "expected": "int", "received": "2", "reason": "expected an integer"},
        {"name": "[1].sku", "in": "body", "expected": "str", "received": None, "reason": "missing"},
    ]


def test_body_as_a_whole(client: Client) -> None:
    user = {"name": "kj", "age": 1, "address": {"city": "c", "zip": 1}}
    r = client.request("POST", "/users/1", json.dumps(user), {"Content-Type": "text/plain"})
    assert errors_of(r) == [{"name": "user", "in": "body", "expected": "application/json", "received": "text/plain",
                             "reason": 'the content type of this request must be "application/json"'}]
    r = client.request("POST", "/users/1", b'{"name": ', {"Content-Type": "application/json"})
    [error] = errors_of(r)
    assert (error["name"], error["in"], error["expected"]) == ("user", "body", "JSON")
    r = client.request("POST", "/users/1")
    assert errors_of(r) == [{"name": "user", "in": "body", "expected": "User", "received": None,
                             "reason": "required"}]
    r = client.post_json("/users/1", [1, 2])
    assert errors_of(r) == [{"name": "user", "in": "body", "expected": "User", "received": "array",
                             "reason": "expected an object"}]


def test_other_errors_keep_their_own_pages(client: Client) -> None:
    r = client.get("/http-error")
    assert r.status == 409 and b"not an argument error" in r.body
    assert "json" not in (r.headers.get("Content-Type") or "")
    assert client.get("/nowhere").status == 404
    assert client.get("/no-params").body == b"ok"


# -- restyling the answer ---------------------------------------------------------------


def test_an_error_message_page_for_400_renders_injection_errors(serve: Callable[[Application], Client]) -> None:
    app = Application(load_entry_points=False)

    @app.route("/n")
    def n(n: Query[int]) -> str:
        return str(n)

    @app.error_message("40x")
    def page(code: int, message: str, explain: str) -> str:
        return f"{code}|{message}|{explain}"

    r = serve(app).get("/n?n=x")
    assert (r.status, r.body) == (400, b"400|Invalid request|Parameter[n]: not an integer.")


def test_a_plugin_restyles_injection_errors(serve: Callable[[Application], Client]) -> None:
    app = Application(load_entry_points=False)

    @app.route("/n")
    def n(n: Query[int], m: Query[int]) -> str:
        return str(n + m)

    class Problems:
        @hookimpl
        def naja_atra_handle_error(self, app: Application, ctx: RequestContext, error: HttpError) -> Any:
            if isinstance(error, InjectionError):
                body = json.dumps({"type": "about:blank", "invalid": [e.name for e in error.errors]})
                return Response(422, {"Content-Type": "application/problem+json"}, body)
            return None

    app.register(Problems(), name="problems")
    r = serve(app).get("/n?n=x")
    assert (r.status, r.headers.get("Content-Type")) == (422, "application/problem+json")
    assert json.loads(r.body) == {"type": "about:blank", "invalid": ["n", "m"]}


# -- plans, plugins and the hot path ----------------------------------------------------


def test_a_plugin_resolver_between_typed_parameters(serve: Callable[[Application], Client]) -> None:
    """A parameter another plugin resolves sits between built-in ones: values and errors
    of the built-in ones still come out right."""
    app = Application(load_entry_points=False)

    class TokenPlugin:
        @hookimpl
        def naja_atra_make_resolver(self, app: Application, route: Route, param: Param) -> Any:
            if param.annotation is Token:
                return lambda ctx: Token(ctx.request.headers.get("X-Token") or "-")
            return None

    app.register(TokenPlugin(), name="token")

    @app.route("/mixed")
    def mixed(a: Query[int], token: Token, b: Query[int] = 2, c: Query[str] = "c") -> str:
        return f"{a}/{token.value}/{b}/{c}"

    client = serve(app)
    assert client.get("/mixed?a=1&c=z", headers={"X-Token": "t"}).body == b"1/t/2/z"
    assert [e["name"] for e in errors_of(client.get("/mixed?a=x&b=y"))] == ["a", "b"]


def test_single_argument_routes_never_touch_request_state(serve: Callable[[Application], Client]) -> None:
    app = Application(load_entry_points=False)
    seen: list[Any] = []

    class Spy:
        @hookimpl
        def naja_atra_wrap_handler(self, app: Application, route: Route) -> Any:
            def wrap(call: Callable[[RequestContext], Any]) -> Callable[[RequestContext], Any]:
                def spied(ctx: RequestContext) -> Any:
                    result = call(ctx)
                    seen.append(ctx.state)
                    return result
                return spied
            return wrap

    app.register(Spy(), name="spy")

    @app.route("/one")
    def one(n: Query[int] = 0) -> str:
        return str(n)

    @app.route("/none")
    def none() -> str:
        return "0"

    client = serve(app)
    assert client.get("/one?n=3").body == b"3"
    assert client.get("/none").body == b"0"
    assert seen == [None, None]


class FakeContext:
    def __init__(self) -> None:
        self.state: Optional[dict[str, Any]] = None


def failing(name: str) -> Callable[[Any], Any]:
    def resolve(ctx: Any) -> Any:
        raise InjectionError([ArgumentError(name, "query", "int", "x", "bad")])
    return resolve


def run_in_order(wrappers: list[Callable[[Any], Any]], ctx: Any) -> list[Any]:
    """What ``invoke.CompiledCall`` does: every resolver, in parameter order."""
    return [resolve(ctx) for resolve in wrappers]


def test_argument_plan_passes_values_through_without_touching_state() -> None:
    plan = ArgumentPlan()
    wrappers = [plan.add("a", lambda ctx: 1), plan.add("b", lambda ctx: 2)]
    ctx: Any = FakeContext()
    assert run_in_order(wrappers, ctx) == [1, 2]
    assert ctx.state is None


def test_argument_plan_raises_every_error_at_the_last_resolver() -> None:
    plan = ArgumentPlan()
    seen: list[str] = []

    def ok(ctx: Any) -> Any:
        seen.append("b")
        return 2

    wrappers = [plan.add("a", failing("a")), plan.add("b", ok), plan.add("c", failing("c"))]
    ctx: Any = FakeContext()
    with pytest.raises(InjectionError) as info:
        run_in_order(wrappers, ctx)
    assert [e.name for e in info.value.errors] == ["a", "c"]
    assert info.value.explain == "Parameter[a]: bad; Parameter[c]: bad."
    assert seen == ["b"]  # resolved although "a" failed before it
    assert ctx.state == {}  # nothing left behind for a second call with the same context

    plan = ArgumentPlan()
    wrappers = [plan.add("a", failing("a")), plan.add("b", ok)]
    with pytest.raises(InjectionError) as info:
        run_in_order(wrappers, FakeContext())
    assert [e.name for e in info.value.errors] == ["a"]


def test_argument_plan_lets_other_errors_through() -> None:
    def boom(ctx: Any) -> Any:
        raise HttpError(503, "Unavailable")

    plan = ArgumentPlan()
    wrappers = [plan.add("a", failing("a")), plan.add("b", boom)]
    with pytest.raises(HttpError) as info:
        run_in_order(wrappers, FakeContext())
    assert info.value.code == 503


# -- model bindings --------------------------------------------------------------------


def binding_app() -> Application:
    app = Application(load_entry_points=False)
    registry = bindings_of(app)

    @registry.model_binding(Person)
    class PersonBinding(ModelBinding):
        def bind(self) -> Person:
            name = self.request.parameter.get("name")
            if name is None:
                raise InjectionError.missing("name", "query")
            return Person(name)

    @registry.model_binding(Token)
    class TokenBinding(ModelBinding):
        async def bind(self) -> Token:
            await asyncio.sleep(0)
            return Token(f"{self.arg_name}:{self.request.headers.get('X-Token')}:{self.default_value}")

    @registry.default_model_binding
    class Fallback(ModelBinding):
        def bind(self) -> Any:
            return f"default for {self.arg_name} ({getattr(self.arg_type, '__name__', self.arg_type)})"

    @app.route("/person")
    def person(p: Person, n: Query[int] = 0) -> str:
        return f"{p.name}/{n}"

    @app.route("/token")
    def token(tk: Token = Token("x")) -> str:
        return tk.value

    @app.route("/opaque")
    def opaque(thing: Opaque) -> str:
        return str(thing)

    return app


def test_model_bindings(serve: Callable[[Application], Client]) -> None:
    client = serve(binding_app())
    assert client.get("/person?name=kj&n=2").body == b"kj/2"
    assert client.get("/token", headers={"X-Token": "t"}).body.startswith(b"tk:t:<")
    assert client.get("/opaque").body == b"default for thing (Opaque)"
    # A binding's InjectionError is listed with the request's other bad arguments.
    assert [(e["name"], e["reason"]) for e in errors_of(client.get("/person?n=x"))] == [
        ("name", "required"), ("n", "not an integer")]


def test_registering_a_binding_rebuilds_the_app(serve: Callable[[Application], Client]) -> None:
    app = Application(load_entry_points=False)

    @app.route("/p")
    def p(person: Person = Person("nobody")) -> str:
        return person.name

    client = serve(app)
    assert client.get("/p").body == b"nobody"

    @bindings_of(app).model_binding(Person)
    class Binding(ModelBinding):
        def bind(self) -> Person:
            return Person("bound")

    assert client.get("/p").body == b"bound"


def test_a_binding_must_be_a_class_with_bind() -> None:
    with pytest.raises(ConfigurationError, match="bind"):
        bindings_of(Application(load_entry_points=False)).model_binding(Person)(lambda: None)  # type: ignore[type-var]


# -- misconfiguration fails the build ----------------------------------------------------


@pytest.mark.parametrize("case", ["bad-default", "opaque-body", "opaque-query", "list-header"])
def test_misconfigured_typed_parameters_fail_the_build(case: str) -> None:
    app = Application(load_entry_points=False)
    if case == "bad-default":
        @app.route("/x")
        def bad_default(page: int = Parameter("page", default="abc")) -> str:  # type: ignore[assignment]
            return str(page)
    elif case == "opaque-body":
        @app.route("/x")
        def opaque_body(data: Body[Opaque]) -> str:
            return ""
    elif case == "opaque-query":
        @app.route("/x")
        def opaque_query(data: Query[Opaque]) -> str:
            return ""
    else:
        @app.route("/x")
        def list_header(data: FromHeader[List[int]]) -> str:
            return ""
    with pytest.raises(ConfigurationError, match="data|page"):
        app.build()
