"""Route groups (``RouteGroup``) and the method shortcuts, through the test client: prefixes,
tags, names, scoped filters and error pages, late registrations, and every refusal."""
from __future__ import annotations

from typing import Any, Callable

import pytest

import naja_atra
from naja_atra import Application, ConfigurationError, FilterContext, HttpError, PathValue, RouteGroup
from naja_atra.app.registry import MAX_GROUP_DEPTH


def paths(app: Application) -> dict[str, str]:
    """endpoint -> path of the application's named routes."""
    return {r.endpoint: r.path for r in app.routes() if r.endpoint}


def route_named(app: Application, endpoint: str) -> Any:
    return next(r for r in app.routes() if r.endpoint == endpoint)


def marker(name: str) -> Callable[[FilterContext], None]:
    """A filter that appends ``name`` to the X-Filters response header, then goes on."""
    def run(ctx: FilterContext) -> None:
        seen = ctx.response.headers.get("X-Filters")
        ctx.response.headers["X-Filters"] = f"{seen},{name}" if seen else name
        ctx.do_chain()
    return run


# -- prefixes -------------------------------------------------------------------------------


def test_prefixes_compose_app_group_class_and_route() -> None:
    group = RouteGroup("/users")

    @group.route("/c")
    class Things:
        @group.get("/x")
        def x(self) -> str:
            return "class-x"

    @group.get("/{user_id}")
    def show(user_id: str = PathValue()) -> str:
        return f"user {user_id}"

    app = Application()
    app.include(group, prefix="/v1")
    assert paths(app) == {"Things.x": "/v1/users/c/x", "show": "/v1/users/{user_id}"}
    client = app.test_client()
    assert client.get("/v1/users/c/x").text == "class-x"
    assert client.get("/v1/users/7").text == "user 7"
    assert client.get("/users/7").status_code == 404


def test_empty_path_is_the_prefix_and_slash_is_below_it_and_wildcards_get_a_segment() -> None:
    group = RouteGroup("items/")  # normalised: "/items"

    @group.get("")
    def bare() -> str:
        return "bare"

    @group.get("/")
    def slash() -> str:
        return "slash"

    @group.get("*.html")
    def page() -> str:
        return "page"

    app = Application()
    app.include(group)
    assert paths(app) == {"bare": "/items", "slash": "/items/", "page": "/items/*.html"}
    client = app.test_client()
    assert [client.get(p).text for p in ("/items", "/items/", "/items/a.html")] == ["bare", "slash", "page"]


def test_an_unprefixed_group_route_with_no_path_is_the_root() -> None:
    group = RouteGroup()

    @group.route
    def root() -> str:
        return "root"

    app = Application()
    app.include(group)
    assert paths(app) == {"root": "/"}
    assert app.test_client().get("/").text == "root"


def test_a_group_included_into_two_applications_serves_in_both_under_their_prefixes() -> None:
    group = RouteGroup("/g")

    @group.get("/hello")
    def hello() -> str:
        return "hello"

    first, second = Application(), Application()
    first.include(group, prefix="/one")
    second.include(group, prefix="/two")
    assert first.test_client().get("/one/g/hello").text == "hello"
    assert second.test_client().get("/two/g/hello").text == "hello"
    assert first.test_client().get("/two/g/hello").status_code == 404


def test_groups_nest_and_their_names_join_with_dots() -> None:
    inner = RouteGroup("/inner", name="inner")
    outer = RouteGroup("/outer", name="outer")

    @inner.get("/leaf")
    def leaf() -> str:
        return "leaf"

    outer.include(inner, prefix="/mid")
    app = Application()
    app.include(outer, prefix="/top")
    assert paths(app) == {"outer.inner.leaf": "/top/outer/mid/inner/leaf"}
    assert app.test_client().get("/top/outer/mid/inner/leaf").text == "leaf"


def test_one_group_twice_in_one_application_under_two_names() -> None:
    group = RouteGroup(name="api")

    @group.get("/ping", name="ping")
    def ping() -> str:
        return "pong"

    app = Application()
    app.include(group, prefix="/v1")
    app.include(group, prefix="/v2", name="api2")
    assert paths(app) == {"api.ping": "/v1/ping", "api2.ping": "/v2/ping"}
    assert app.url_for("api2.ping") == "/v2/ping"


def test_a_prefix_may_hold_path_values_and_an_inclusion_may_drop_the_groups_name() -> None:
    group = RouteGroup("/orgs/{org}", name="orgs")

    @group.get("/repos/{repo}")
    def repo(org: str = PathValue(), repo: str = PathValue()) -> str:
        return f"{org}/{repo}"

    app = Application()
    app.include(group, name="")
    assert paths(app) == {"repo": "/orgs/{org}/repos/{repo}"}
    url = app.url_for("repo", org="acme", repo="site")
    assert (url, app.test_client().get(url).text) == ("/orgs/acme/repos/site", "acme/site")


# -- late registration ----------------------------------------------------------------------


def test_routes_added_after_include_and_after_a_build_are_served() -> None:
    inner = RouteGroup("/in")
    outer = RouteGroup("/out")
    app = Application()
    app.include(outer)
    client = app.test_client()
    assert client.get("/out/in/late").status_code == 404  # built: nothing there yet
    outer.include(inner)

    @inner.get("/late")
    def late() -> str:
        return "late"

    assert client.get("/out/in/late").text == "late"


def test_a_group_does_not_keep_the_applications_that_include_it_alive() -> None:
    import gc
    import weakref

    group = RouteGroup()
    app = Application()
    app.include(group)
    gone = weakref.ref(app)
    del app
    gc.collect()
    assert gone() is None

    @group.get("/after")  # notifies nobody, and does not fail
    def after() -> str:
        return "after"


# -- tags, schema flag, names ---------------------------------------------------------------


def test_tags_accumulate_from_include_group_class_and_route() -> None:
    group = RouteGroup(tags=["group", "shared"])

    @group.get("/f", tags="route")
    def f() -> str:
        return "f"

    @group.route("/k", tags=["class"], include_in_schema=False)
    class K:
        @group.get("/m", tags=["method", "shared"])
        def m(self) -> str:
            return "m"

    app = Application()
    app.include(group, tags=["include"])
    assert route_named(app, "f").tags == ("include", "group", "shared", "route")
    assert route_named(app, "K.m").tags == ("include", "group", "shared", "class", "method")
    assert route_named(app, "f").include_in_schema is True
    assert route_named(app, "K.m").include_in_schema is False


def test_include_in_schema_false_on_a_group_or_an_inclusion_covers_its_routes() -> None:
    hidden, shown = RouteGroup(include_in_schema=False), RouteGroup()

    @hidden.get("/a")
    def a() -> str:
        return "a"

    @shown.get("/b")
    def b() -> str:
        return "b"

    app = Application()
    app.include(hidden)
    app.include(shown, include_in_schema=False)

    @app.get("/c", include_in_schema=False)
    def c() -> str:
        return "c"

    assert [route_named(app, n).include_in_schema for n in ("a", "b", "c")] == [False, False, False]


def test_explicit_and_default_names() -> None:
    app = Application()

    @app.get("/a", name="first")
    def a() -> str:
        return "a"

    @app.route("/obj")
    class Obj:
        @app.get("/m")
        def method(self) -> str:
            return "m"

    assert paths(app) == {"first": "/a", "Obj.method": "/obj/m"}


def test_a_callable_object_is_named_after_its_class() -> None:
    class Greeter:
        def __call__(self) -> str:
            return "hi"

    app = Application()
    app.get("/greet")(Greeter())
    assert paths(app) == {"Greeter": "/greet"}
    assert app.test_client().get(app.url_for("Greeter")).text == "hi"


# -- shortcuts ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def test_each_shortcut_maps_its_method_only(method: str) -> None:
    group = RouteGroup("/g")
    decorator = getattr(group, method.lower())

    @decorator("/r", tags=["t"], name="r")
    def handler() -> str:
        return "ok"

    app = Application()
    app.include(group)
    route = route_named(app, "r")
    assert route.methods == (method,) and route.tags == ("t",)
    client = app.test_client()
    assert client.request(method, "/g/r").status_code == 200
    other = "POST" if method != "POST" else "PUT"
    assert client.request(other, "/g/r").status_code == 405


def test_application_shortcuts_and_the_facade_ones() -> None:
    app = Application()

    @app.post("/items", max_body_size=10)
    def create(name: str) -> str:
        return f"created {name}"

    client = app.test_client()
    assert client.post("/items", data={"name": "x"}).text == "created x"
    assert client.post("/items", data={"name": "x" * 20}).status_code == 413
    assert client.get("/items").status_code == 405
    for name in ("get", "post", "put", "patch", "delete", "head", "options", "include", "url_for"):
        bound = getattr(naja_atra, name)
        assert bound.__self__ is naja_atra.default_app
        assert bound.__func__ is getattr(Application, name)


def test_a_shortcut_on_a_class_sets_its_prefix_and_method() -> None:
    app = Application()

    @app.get("/things")
    class Things:
        @app.route("/one")
        def one(self) -> str:
            return "one"

    assert route_named(app, "Things.one").methods == ("GET",)
    assert app.test_client().get("/things/one").text == "one"


# -- filters --------------------------------------------------------------------------------


def test_group_filters_run_for_the_groups_routes_only_not_for_its_prefix() -> None:
    group = RouteGroup("/g")
    group.request_filter()(marker("group"))

    @group.get("/in")
    def inside() -> str:
        return "in"

    app = Application()
    app.include(group)

    @app.get("/g/app-owned")  # under the group's prefix, but the application's route
    def app_owned() -> str:
        return "app"

    client = app.test_client()
    assert client.get("/g/in").headers.get("X-Filters") == "group"
    assert client.get("/g/app-owned").headers.get("X-Filters") is None


def test_filters_run_application_first_then_outer_then_inner_group() -> None:
    inner, outer = RouteGroup("/i"), RouteGroup("/o")
    inner.request_filter()(marker("inner"))
    outer.request_filter()(marker("outer"))

    @inner.get("/x/{v}")  # a pattern route: its filters are tested per request
    def x(v: str = PathValue()) -> str:
        return v

    @outer.get("/y")
    def y() -> str:
        return "y"

    outer.include(inner)
    app = Application()
    app.request_filter("/**")(marker("app"))
    app.include(outer)
    client = app.test_client()
    assert client.get("/o/i/x/1").headers.get("X-Filters") == "app,outer,inner"
    assert client.get("/o/y").headers.get("X-Filters") == "app,outer"


def test_a_group_filter_path_is_below_the_prefix_and_a_regexp_sees_the_whole_path() -> None:
    group = RouteGroup("/g")
    group.request_filter("/admin/**")(marker("path"))
    group.request_filter(regexp=r"^/v1/g/.*\.txt$")(marker("regexp"))

    @group.get("/admin/panel")
    def panel() -> str:
        return "panel"

    @group.get("/public/a.txt")
    def text() -> str:
        return "text"

    app = Application()
    app.include(group, prefix="/v1")
    client = app.test_client()
    assert client.get("/v1/g/admin/panel").headers.get("X-Filters") == "path"
    assert client.get("/v1/g/public/a.txt").headers.get("X-Filters") == "regexp"


def test_a_group_filter_can_refuse_the_request() -> None:
    group = RouteGroup("/private")

    @group.request_filter()
    def deny(ctx: FilterContext) -> None:
        if ctx.request.headers.get("X-Token") != "ok":
            raise HttpError(401, "Unauthorized")
        ctx.do_chain()

    @group.get("/data")
    def data() -> str:
        return "secret"

    app = Application()
    app.include(group)
    client = app.test_client()
    assert client.get("/private/data").status_code == 401
    assert client.get("/private/data", headers={"X-Token": "ok"}).text == "secret"


# -- error pages ----------------------------------------------------------------------------


def test_group_error_pages_answer_the_groups_routes_and_the_application_the_rest() -> None:
    group = RouteGroup("/g")

    @group.error_message("404")
    def group_404(message: str) -> str:
        return "group-404"

    @group.get("/missing/{what}")
    def missing(what: str = PathValue()) -> str:
        raise HttpError(404, "Not Found")

    app = Application()
    app.include(group)

    @app.error_message("404")
    def app_404(message: str) -> str:
        return "app-404"

    @app.get("/gone")
    def gone() -> str:
        raise HttpError(404, "Not Found")

    client = app.test_client()
    assert (client.get("/g/missing/x").status_code, client.get("/g/missing/x").text) == (404, "group-404")
    assert client.get("/gone").text == "app-404"
    assert client.get("/g/no-such-route").text == "app-404"  # no route: the application's page


def test_the_most_specific_page_wins_then_the_nearest() -> None:
    inner, outer = RouteGroup("/i"), RouteGroup("/o")

    @inner.error_message
    def inner_any(code: int) -> str:
        return f"inner-any-{code}"

    @outer.error_message("50x")
    def outer_50x(code: int) -> str:
        return f"outer-50x-{code}"

    @inner.get("/fail/{code}")
    def fail(code: str = PathValue()) -> str:
        raise HttpError(int(code), "failed")

    outer.include(inner)
    app = Application()
    app.include(outer)

    @app.error_message("503")
    def app_503(code: int) -> str:
        return "app-503"

    client = app.test_client()
    assert client.get("/o/i/fail/503").text == "app-503"  # exact code, though the application's
    assert client.get("/o/i/fail/502").text == "outer-50x-502"  # a range beats a catch-all
    assert client.get("/o/i/fail/418").text == "inner-any-418"


def test_a_group_400_page_answers_its_routes_bad_arguments() -> None:
    """A bad argument's 400 goes to the group's page instead of the built-in JSON answer,
    for the group's routes only."""
    group = RouteGroup("/g")

    @group.error_message("400")
    def bad(explain: str) -> str:
        return "group-400"

    @group.get("/n/{number}")
    def in_group(number: int) -> str:
        return "ok"

    app = Application()
    app.include(group)

    @app.get("/n/{number}")
    def outside(number: int) -> str:
        return "ok"

    client = app.test_client()
    assert (client.get("/g/n/x").status_code, client.get("/g/n/x").text) == (400, "group-400")
    outside_reply = client.get("/n/x")
    assert outside_reply.status_code == 400
    assert outside_reply.json()["errors"][0]["name"] == "number"  # the built-in JSON answer


def test_group_error_pages_also_answer_errors_raised_by_its_filters() -> None:
    group = RouteGroup("/g")

    @group.request_filter()
    def refuse(ctx: FilterContext) -> None:
        raise HttpError(403, "Forbidden")

    @group.error_message("403")
    def forbidden() -> str:
        return "group-403"

    @group.get("/x")
    def x() -> str:
        return "x"

    app = Application()
    app.include(group)
    assert app.test_client().get("/g/x").text == "group-403"


# -- refusals -------------------------------------------------------------------------------


def test_include_takes_a_route_group() -> None:
    with pytest.raises(ConfigurationError, match="takes a RouteGroup"):
        Application().include(Application())


def test_including_a_group_into_itself_or_into_one_it_contains_is_refused() -> None:
    a, b, c = RouteGroup(), RouteGroup(), RouteGroup()
    with pytest.raises(ConfigurationError, match="cycle"):
        a.include(a)
    a.include(b)
    b.include(c)
    with pytest.raises(ConfigurationError, match="cycle"):
        c.include(a)


def _chain(length: int) -> tuple[RouteGroup, RouteGroup]:
    """``length`` groups, each including the next: (first, last)."""
    top = current = RouteGroup("/n")
    for _ in range(length - 1):
        below = RouteGroup("/n")
        current.include(below)
        current = below
    return top, current


def test_groups_nested_deeper_than_the_limit_are_refused_at_build() -> None:
    top, last = _chain(MAX_GROUP_DEPTH)
    last.get("/leaf")(lambda: "leaf")
    app = Application()
    app.include(top)
    assert app.test_client().get("/n" * MAX_GROUP_DEPTH + "/leaf").text == "leaf"
    last.include(RouteGroup())
    with pytest.raises(ConfigurationError, match=f"nested more than {MAX_GROUP_DEPTH} deep"):
        app.build()


def test_including_a_chain_deeper_than_the_limit_is_refused() -> None:
    top = RouteGroup()
    for _ in range(MAX_GROUP_DEPTH + 1):  # built from the bottom up: each include walks what is below
        above = RouteGroup()
        above.include(top)
        top = above
    with pytest.raises(ConfigurationError, match=f"nested more than {MAX_GROUP_DEPTH} deep"):
        RouteGroup().include(top)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: RouteGroup(5), "prefix must be a string"),
    (lambda: Application().include(RouteGroup(), prefix=None), "prefix must be a string"),
    (lambda: RouteGroup(tags=["ok", ""]), "tags must be non-empty strings"),
    (lambda: RouteGroup(tags=[3]), "tags must be non-empty strings"),
    (lambda: Application().include(RouteGroup(), tags=[None]), "tags must be"),
    (lambda: RouteGroup(name="a.b"), "without '.'"),
    (lambda: Application().include(RouteGroup(), name="x.y"), "without '.'"),
    (lambda: Application().route("/x", name="a.b"), "without '.'"),
    (lambda: Application().get("/x", name=7), "without '.'"),
    (lambda: Application().route("/x", tags=[""]), "tags must be"),
])
def test_bad_group_arguments_are_refused(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_name_on_a_class_is_refused() -> None:
    app = Application()
    with pytest.raises(ConfigurationError, match="names one route"):
        @app.route("/c", name="c")
        class C:
            pass


def test_a_bare_shortcut_is_refused() -> None:
    app = Application()
    with pytest.raises(ConfigurationError, match="needs a path"):
        @app.get
        def f() -> str:
            return "f"


def test_filter_pattern_rules() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        RouteGroup().request_filter("/a", regexp="^/a")
    with pytest.raises(ConfigurationError, match="exactly one of path or regexp"):
        Application().request_filter()  # an application's filter needs a pattern


def test_a_regexp_route_under_a_group_prefix_is_refused_at_build() -> None:
    group = RouteGroup("/g")

    @group.route(regexp="^/g/(.*)$")
    def by_regexp() -> str:
        return "r"

    app = Application()
    app.include(group)
    with pytest.raises(ConfigurationError, match="regexp cannot take"):
        app.build()
    fine = Application()
    fine.include(RouteGroup())  # without a prefix a regexp route is fine
    unprefixed = RouteGroup()
    unprefixed.route(regexp="^/r/(.*)$")(by_regexp)
    fine.include(unprefixed)
    assert fine.test_client().get("/r/x").text == "r"


def test_a_regexp_websocket_endpoint_under_a_group_prefix_is_refused_at_build() -> None:
    group = RouteGroup("/g")
    group.websocket_open(regexp="^/g/ws$")(lambda session: None)
    app = Application()
    app.include(group)
    with pytest.raises(ConfigurationError, match="regexp cannot take"):
        app.build()


def test_one_explicit_name_on_two_handlers_is_refused_at_build() -> None:
    app = Application()

    @app.get("/a", name="same")
    def a() -> str:
        return "a"

    group = RouteGroup()

    @group.get("/b", name="same")
    def b() -> str:
        return "b"

    app.include(group)
    with pytest.raises(ConfigurationError, match="Two routes are named 'same'"):
        app.build()


def test_a_group_with_named_routes_included_twice_under_one_name_is_refused_with_a_hint() -> None:
    group = RouteGroup(name="api")

    @group.get("/ping", name="ping")
    def ping() -> str:
        return "pong"

    app = Application()
    app.include(group, prefix="/v1")
    app.include(group, prefix="/v2")
    with pytest.raises(ConfigurationError, match=r"include\(\.\.\., name=\.\.\.\)"):
        app.build()


def _group_with_an_index() -> RouteGroup:
    group = RouteGroup("/g")

    @group.get("/index")
    def index() -> str:
        return "group index"

    return group


def test_one_handler_at_two_paths_may_share_its_explicit_name_and_default_names_may_repeat() -> None:
    app = Application()

    @app.get("/a", name="both")
    @app.get("/b", name="both")
    def both() -> str:
        return "both"

    @app.get("/index")
    def index() -> str:
        return "app index"

    app.include(_group_with_an_index())  # two handlers, one default name: served, only url_for minds
    client = app.test_client()
    assert [client.get(p).text for p in ("/a", "/b", "/g/index", "/index")] == [
        "both", "both", "group index", "app index"]
