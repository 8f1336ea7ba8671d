"""Path values at build time: which values a route has (``RoutePath``), the parameters that
read one by their name, and the ``ArgumentSource`` every built-in kind attaches."""
from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any, Iterator, List, Optional

import pytest
from typing_extensions import Annotated

from naja_atra import (
    Application,
    BytesBody,
    ConfigurationError,
    Cookie,
    Depends,
    Header,
    JSONBody,
    MultipartFile,
    Parameter,
    Parameters,
    PathValue,
    RegGroup,
    Request,
)
from naja_atra.app.routes import Route
from naja_atra.http.request_body import RequestBodyReader
from naja_atra.injection.aliases import Body, FromCookie, FromHeader, FromPath, Query
from naja_atra.injection.builtin import Site, builtin_resolver
from naja_atra.injection.params import EMPTY, Param, controller_params
from naja_atra.injection.path_values import RoutePath
from naja_atra.injection.source import ArgumentSource, source_of, sources_of


def handler() -> None:
    return None


# -- RoutePath --------------------------------------------------------------------------------


def test_the_values_of_a_path() -> None:
    path = RoutePath.of(Route(handler, path="/orgs/{org}/users/{user_id}"))
    assert path == RoutePath("/orgs/{org}/users/{user_id}", ("org", "user_id"), False)
    assert path.has("org") and not path.has("uid")
    assert RoutePath.of(Route(handler, path="/files/{bucket}/**")) == RoutePath("/files/{bucket}/**", ("bucket",), True)
    assert RoutePath.of(Route(handler, regexp="^/r/(.+)$")) == RoutePath("", (), False, "^/r/(.+)$")
    assert RoutePath.of(Route(handler, path="/a/**/b")) is None  # the router names that path first


def test_a_wildcard_serves_any_name() -> None:
    path = RoutePath.of(Route(handler, path="/static/*"))
    assert path is not None
    path.check("anything", "name")  # PathValue falls back to the wildcard's capture


def test_the_missing_value_message() -> None:
    path = RoutePath.of(Route(handler, path="/users/{user_id}/posts/{post}"))
    assert path is not None
    with pytest.raises(ConfigurationError) as info:
        path.check("uid", "uid")
    assert str(info.value) == ("parameter 'uid' reads the path value 'uid', which the route's path "
                               "'/users/{user_id}/posts/{post}' does not have (its values: user_id, post)")
    regexp = RoutePath.of(Route(handler, regexp="^/r/(.+)$"))
    assert regexp is not None
    with pytest.raises(ConfigurationError, match=r"regexp='\^/r/\(\.\+\)\$', which has no named values"):
        regexp.check("x", "x")


# -- by name ----------------------------------------------------------------------------------


def site(path: str) -> Site:
    return Site(RoutePath.of(Route(handler, path=path)))


@dataclasses.dataclass
class User:
    name: str


class Opaque:
    pass


@pytest.mark.parametrize("param, annotation", [
    (Param("uid"), str),
    (Param("uid", Any), str),
    (Param("uid", int), int),
    (Param("uid", Optional[int]), Optional[int]),
    (Param("uid", uuid.UUID, metadata=("not a marker",)), uuid.UUID),
    (Param("uid", default=7), int),
    (Param("uid", default=dt.date(2000, 1, 1)), dt.date),
    (Param("uid", default="x"), str),
    (Param("uid", int, default=7), int),
])
def test_a_parameter_named_like_a_value_reads_it(param: Param, annotation: Any) -> None:
    resolver = builtin_resolver(param, False, site("/users/{uid}"))
    assert source_of(resolver) == ArgumentSource("path", "uid", annotation, True)


def marker_in_annotated(uid: Annotated[int, Parameter("uid")]) -> None: ...
def marker_as_default(uid: Any = Parameter("uid")) -> None: ...
def alias(uid: Query[int]) -> None: ...
def header_default(uid: Any = Header("uid")) -> None: ...
def dataclass_body(uid: User) -> None: ...


@pytest.mark.parametrize("func, location", [
    (marker_in_annotated, "query"),  # an explicit marker keeps its meaning
    (marker_as_default, "query"),
    (alias, "query"),
    (header_default, "header"),
    (dataclass_body, "body"),  # a dataclass is the JSON body
])
def test_markers_and_bodies_keep_their_meaning(func: Any, location: str) -> None:
    (param,) = controller_params(func)
    source = source_of(builtin_resolver(param, False, site("/users/{uid}")))
    assert source is not None and source.location == location


def test_framework_types_and_unconvertible_types_are_left_to_their_kinds() -> None:
    request = builtin_resolver(Param("uid", Request), False, site("/users/{uid}"))
    assert request is not None and source_of(request) is None
    # No kind knows Opaque: None, so that a default model binding may take it.
    assert builtin_resolver(Param("uid", Opaque), False, site("/users/{uid}")) is None


def test_a_list_named_like_a_value_fails() -> None:
    with pytest.raises(ConfigurationError, match=r"parameter 'ids': named like the path value \{ids\}"):
        builtin_resolver(Param("ids", List[int]), False, site("/a/{ids}"))


def test_without_a_site_a_bare_name_still_reads_the_query() -> None:
    source = source_of(builtin_resolver(Param("uid", int)))
    assert source is not None and source.location == "query"


# -- the sources of every kind, through an application ---------------------------------------


@dataclasses.dataclass
class Payment:
    amount: int


def tenant(x_tenant: FromHeader[str] = "public", page: int = 1) -> Iterator[str]:
    yield x_tenant


def kinds_app() -> Application:
    app = Application(load_entry_points=False)

    @app.route("/r/{pid}/{other}/{typed}", method="POST")
    def everything(pid: int, other, typed: FromPath[uuid.UUID], q: Query[List[int]],
                   day: Optional[dt.date] = None, h: FromHeader[int] = 0, ck: FromCookie[str] = "",
                   m=Parameter("m", default="x"), ms=Parameters("ms"), hd=Header("X-A"), c=Cookie("cc"),
                   pv=PathValue("pid"), body: Body[Payment] = None,  # type: ignore[assignment]
                   since=dt.date(2000, 1, 1), who: str = Depends(tenant),
                   annotated: Annotated[int, Header("X-Count")] = 0) -> str:
        return ""

    @app.route("/raw", method="POST")
    def raw(data=BytesBody(), doc=JSONBody(), f=MultipartFile("f")) -> str:
        return ""

    @app.route("/stream", method="POST")
    def stream(reader: RequestBodyReader, payment: Payment) -> str:
        return ""

    @app.route(regexp="^/g/(.+)$")
    def group(g=RegGroup(0)) -> str:
        return ""
    return app


def sources_by_parameter(app: Application) -> dict[str, tuple[ArgumentSource, ...]]:
    found: dict[str, tuple[ArgumentSource, ...]] = {}
    for route in app.routes():
        for param in controller_params(route.handler):
            found[param.name] = sources_of(app.hooks.make_resolver(app, route, param))
    return found


def test_every_built_in_kind_describes_what_it_reads() -> None:
    found = sources_by_parameter(kinds_app())
    one = {name: sources[0] if len(sources) == 1 else sources for name, sources in found.items()}
    assert one["pid"] == ArgumentSource("path", "pid", int, True)
    assert one["other"] == ArgumentSource("path", "other", str, True)
    assert one["typed"] == ArgumentSource("path", "typed", uuid.UUID, True)
    assert one["q"] == ArgumentSource("query", "q", List[int], True)
    assert one["day"] == ArgumentSource("query", "day", Optional[dt.date], False, None)
    assert one["h"] == ArgumentSource("header", "h", int, False, 0)
    assert one["ck"] == ArgumentSource("cookie", "ck", str, False, "")
    assert one["m"] == ArgumentSource("query", "m", str, False, "x")
    assert one["ms"] == ArgumentSource("query", "ms", list[str], False, [])
    assert one["hd"] == ArgumentSource("header", "X-A", str, False, "")
    assert one["c"] == ArgumentSource("cookie", "cc", str, False, "")
    assert one["pv"] == ArgumentSource("path", "pid", str, True)
    assert one["body"] == ArgumentSource("body", "", Payment, False, None, "application/json")
    assert one["since"] == ArgumentSource("query", "since", dt.date, False, dt.date(2000, 1, 1))
    assert one["annotated"] == ArgumentSource("header", "X-Count", int, False, 0)
    assert found["who"] == (ArgumentSource("header", "x-tenant", str, False, "public"),
                            ArgumentSource("query", "page", int, False, 1))
    assert one["data"] == ArgumentSource("body", "", bytes, False, EMPTY, "application/octet-stream")
    assert one["doc"] == ArgumentSource("body", "", Any, True, EMPTY, "application/json")
    assert one["f"] == ArgumentSource("body", "f", MultipartFile, False, EMPTY, "multipart/form-data")
    assert one["reader"] == ArgumentSource("body", "", bytes, False, EMPTY, "application/octet-stream")
    assert one["payment"] == ArgumentSource("body", "", Payment, True, EMPTY, "application/json")
    assert found["g"] == ()  # a regexp group has no name a document could give


def test_the_wrappers_of_the_argument_plan_keep_the_source() -> None:
    app = kinds_app()
    route = next(r for r in app.routes() if r.path == "/r/{pid}/{other}/{typed}")
    resolver = app.hooks.make_resolver(app, route, Param("pid", int))
    assert getattr(resolver, "infallible", False) is False  # converts, so it is in the plan
    assert source_of(resolver) == ArgumentSource("path", "pid", int, True)


class Person:
    def __init__(self, name: str) -> None:
        self.name = name


def test_a_model_binding_wins_over_the_path_value_of_the_same_name() -> None:
    app = Application(load_entry_points=False)

    @app.model_binding(Person)
    class PersonBinding:
        def __init__(self, request: Any, response: Any, arg_name: str, arg_type: Any, default: Any) -> None:
            self.request = request

        def bind(self) -> Person:
            return Person("bound " + self.request.path_values["person"])

    @app.route("/people/{person}")
    def show(person: Person) -> str:
        return person.name

    assert app.test_client().get("/people/kim").text == "bound kim"
