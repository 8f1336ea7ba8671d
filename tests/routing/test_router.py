"""DefaultRouter: matching, captures, priority, methods, narrowing and build errors."""
from __future__ import annotations

from typing import Any, Optional

import pytest

from naja_atra.app.routes import Route, RouteMatch
from naja_atra.http.errors import HttpError, MethodNotAllowed
from naja_atra.routing import DefaultRouter

from . import FakeRequest, route

NO_INPUT = FakeRequest()


def match(router: DefaultRouter, path: str, method: str = "GET", request: Any = NO_INPUT) -> RouteMatch:
    return router.match(method, path, request)


def matched_name(router: DefaultRouter, path: str, method: str = "GET", request: Any = NO_INPUT) -> str:
    return str(match(router, path, method, request).route.handler.__qualname__)


def status_of(router: DefaultRouter, path: str, method: str = "GET", request: Any = NO_INPUT) -> int:
    with pytest.raises(HttpError) as info:
        router.match(method, path, request)
    return info.value.code


# ---------------------------------------------------------------- pattern kinds and captures

EXAMPLE_ROUTES = [
    route("star_end", "/star/*"),
    route("star_start", "*/star"),
    route("dstar_end", "/dstar/**"),
    route("dstar_start", "**/dstar"),
]


@pytest.mark.parametrize(
    ("path", "name", "wildcard"),
    [
        ("/star/c", "star_end", "c"),
        ("/c/star", "star_start", "c"),
        ("/dstar/c", "dstar_end", "c"),
        ("/dstar/c/d", "dstar_end", "c/d"),
        ("/c/dstar", "dstar_start", "c"),
        ("/c/d/dstar", "dstar_start", "c/d"),
    ],
)
def test_spec_wildcards_capture_under_star(path: str, name: str, wildcard: str) -> None:
    m = match(DefaultRouter(EXAMPLE_ROUTES), path)
    assert m.route.handler.__qualname__ == name
    assert m.path_values == {"*": wildcard}
    assert m.reg_groups == ()


@pytest.mark.parametrize(
    "path",
    ["/star/c/d", "/c/d/star", "/star", "/star/", "/dstar", "/dstar/", "/star2", "/dstar/c/x/"[:0] + "/x"],
)
def test_spec_wildcards_do_not_match(path: str) -> None:
    assert status_of(DefaultRouter(EXAMPLE_ROUTES), path) == 404


def test_star_does_not_match_an_empty_segment() -> None:
    router = DefaultRouter([route("r", "/a/*/b")])
    assert status_of(router, "/a//b") == 404
    assert match(router, "/a/x/b").path_values == {"*": "x"}


def test_star_mid_path_is_a_one_segment_wildcard() -> None:
    router = DefaultRouter([route("mid", "/a/*/b")])
    assert match(router, "/a/anything/b").path_values == {"*": "anything"}
    assert status_of(router, "/a/x/y/b") == 404


def test_double_star_keeps_a_trailing_slash_in_its_capture() -> None:
    router = DefaultRouter([route("r", "/files/**")])
    assert match(router, "/files/a/b/").path_values == {"*": "a/b/"}


def test_variables_capture_by_name() -> None:
    router = DefaultRouter([route("r", "/a/b/{path_val}/x/{other}")])
    assert match(router, "/a/b/xyz/x/1").path_values == {"path_val": "xyz", "other": "1"}


@pytest.mark.parametrize("value", ["a+b", "a~b", "a b", "a:b", "中文", "a.b", "%41"])
def test_variable_matches_any_characters_but_slash(value: str) -> None:
    # 1.x only allowed [\w%.\-@!()\[\]|$]; a Flask/Starlette user expects any segment.
    router = DefaultRouter([route("r", "/v/{x}")])
    assert match(router, f"/v/{value}").path_values == {"x": value}


def test_variable_needs_a_non_empty_segment() -> None:
    router = DefaultRouter([route("r", "/v/{x}")])
    assert status_of(router, "/v/") == 404
    assert status_of(router, "/v/a/b") == 404


def test_literal_segments_are_not_regexes() -> None:
    router = DefaultRouter([route("r", "/v1.0/{x}")])
    assert match(router, "/v1.0/a").path_values == {"x": "a"}
    assert status_of(router, "/v1x0/a") == 404


def test_mixed_segment_captures() -> None:
    router = DefaultRouter([route("file", "/f/{name}.{ext}"), route("html", "/p/*.html")])
    assert match(router, "/f/report.tar.gz").path_values == {"name": "report.tar", "ext": "gz"}
    assert match(router, "/p/index.html").path_values == {"*": "index"}
    assert status_of(router, "/p/.html") == 404


def test_variables_with_a_wildcard() -> None:
    router = DefaultRouter([route("r", "/b/{bucket}/**"), route("s", "**/{name}/edit")])
    assert match(router, "/b/photos/2024/a.jpg").path_values == {"bucket": "photos", "*": "2024/a.jpg"}
    assert match(router, "/x/y/doc/edit").path_values == {"*": "x/y", "name": "doc"}


def test_rest_with_text() -> None:
    router = DefaultRouter([route("html", "**.html"), route("under", "/static/x**")])
    assert match(router, "/a/b/page.html").path_values == {"*": "a/b/page"}
    assert match(router, "/static/xa/b").path_values == {"*": "a/b"}
    assert status_of(router, "/a/b/page.htm") == 404


def test_trailing_slash_is_significant() -> None:
    router = DefaultRouter([route("a", "/a"), route("a_slash", "/a/")])
    assert matched_name(router, "/a") == "a"
    assert matched_name(router, "/a/") == "a_slash"
    assert status_of(DefaultRouter([route("a", "/a")]), "/a/") == 404


def test_root_path() -> None:
    router = DefaultRouter([route("root", "/")])
    assert matched_name(router, "/") == "root"
    assert status_of(router, "/x") == 404


# ---------------------------------------------------------------- regexp routes


def test_regexp_from_spec_matches_without_the_leading_slash() -> None:
    router = DefaultRouter([Route(lambda: None, regexp="^(reg/(.+))$")])
    m = match(router, "/reg/abcef/aref/xxx")
    assert m.reg_groups == ("reg/abcef/aref/xxx", "abcef/aref/xxx")
    assert m.path_values == {}


def test_regexp_is_tried_with_the_leading_slash_first() -> None:
    router = DefaultRouter([Route(lambda: None, regexp="^/?(.*)$")])
    assert match(router, "/a/b").reg_groups == ("a/b",)
    router = DefaultRouter([Route(lambda: None, regexp="^/(slash/(.+))$")])
    assert match(router, "/slash/a/b").reg_groups == ("slash/a/b", "a/b")


def test_regexp_uses_re_match_semantics() -> None:
    # Anchored at the start only, as re.match is (1.x behaviour).
    router = DefaultRouter([Route(lambda: None, regexp="abc")])
    assert match(router, "/abcx").reg_groups == ()
    assert status_of(router, "/xabc") == 404


def test_regexp_unmatched_optional_group_is_empty_string() -> None:
    router = DefaultRouter([Route(lambda: None, regexp="^/a(/b)?$")])
    assert match(router, "/a").reg_groups == ("",)


def test_regexp_routes_come_after_path_routes_in_registration_order() -> None:
    router = DefaultRouter(
        [
            route("re1", regexp="^/p/"),
            route("re2", regexp="^/p/q"),
            route("var", "/p/{x}"),
        ]
    )
    assert matched_name(router, "/p/q") == "var"
    assert matched_name(router, "/p/q/r") == "re1"


# ---------------------------------------------------------------- priority


def test_static_beats_variable_wildcard_and_regexp() -> None:
    routes = [
        route("p_var", "/p/{x}"),
        route("p_regexp", regexp="^/p/q$"),
        route("p_star", "/p/*"),
        route("p_rest", "/p/**"),
        route("p_static", "/p/q"),
    ]
    router = DefaultRouter(routes)
    assert matched_name(router, "/p/q") == "p_static"


def test_same_shape_first_registered_wins() -> None:
    # /p/{x} and /p/* are the same shape. 1.x let the LAST registration win; we keep the
    # first, as Flask and Starlette do.
    router = DefaultRouter([route("p_var", "/p/{x}"), route("p_star", "/p/*")])
    assert matched_name(router, "/p/r") == "p_var"
    router = DefaultRouter([route("p_star", "/p/*"), route("p_var", "/p/{x}")])
    assert matched_name(router, "/p/r") == "p_star"
    assert match(router, "/p/r").path_values == {"*": "r"}


def test_duplicate_static_route_first_registered_wins() -> None:
    router = DefaultRouter([route("first", "/dup"), route("second", "/dup")])
    assert matched_name(router, "/dup") == "first"


def test_literal_segment_beats_variable_at_each_position() -> None:
    router = DefaultRouter([route("var_first", "/o/{x}/z"), route("literal_first", "/o/y/{x}")])
    assert matched_name(router, "/o/y/z") == "literal_first"
    assert matched_name(router, "/o/w/z") == "var_first"


def test_search_backtracks_from_a_literal_branch() -> None:
    router = DefaultRouter([route("deep", "/a/b/{x}/c"), route("var", "/a/{y}/d/e")])
    assert match(router, "/a/b/d/e").path_values == {"y": "b"}


def test_mixed_beats_param_and_param_beats_rest() -> None:
    router = DefaultRouter([route("rest", "/f/**"), route("param", "/f/{x}"), route("mixed", "/f/{n}.txt")])
    assert matched_name(router, "/f/a.txt") == "mixed"
    assert matched_name(router, "/f/a.csv") == "param"
    assert matched_name(router, "/f/a/b") == "rest"


def test_prefixed_rest_beats_suffixed_rest_and_catch_all_comes_last() -> None:
    router = DefaultRouter(
        [route("all", "**"), route("html", "**.html"), route("edit", "**/edit"), route("static", "/s/**")]
    )
    assert matched_name(router, "/s/edit") == "static"
    assert matched_name(router, "/x/edit") == "edit"
    assert matched_name(router, "/x/a.html") == "html"
    assert matched_name(router, "/x/y") == "all"
    assert match(router, "/x/y").path_values == {"*": "x/y"}


def test_longer_prefix_rest_wins() -> None:
    router = DefaultRouter([route("short", "/a/**"), route("long", "/a/b/**")])
    assert matched_name(router, "/a/b/c") == "long"
    assert matched_name(router, "/a/c/d") == "short"
    assert match(router, "/a/b").path_values == {"*": "b"}


# ---------------------------------------------------------------- methods, HEAD, 404/405


def test_method_selects_the_route() -> None:
    router = DefaultRouter([route("get", "/m", methods=("GET",)), route("post", "/m", methods=("POST",))])
    assert matched_name(router, "/m", "GET") == "get"
    assert matched_name(router, "/m", "POST") == "post"


def test_no_methods_means_any_method() -> None:
    router = DefaultRouter([route("any", "/any")])
    for method in ("GET", "DELETE", "PATCH", "PROPFIND"):
        assert matched_name(router, "/any", method) == "any"


def test_method_specific_route_beats_any_method_route() -> None:
    router = DefaultRouter([route("any", "/mm"), route("get", "/mm", methods=("GET",))])
    assert matched_name(router, "/mm", "GET") == "get"
    assert matched_name(router, "/mm", "POST") == "any"


def test_lower_case_route_methods_are_normalised_without_touching_the_route() -> None:
    r = route("get", "/m", methods=("get",))
    router = DefaultRouter([r])
    assert matched_name(router, "/m", "GET") == "get"
    assert r.methods == ("get",)


def test_head_falls_back_to_get() -> None:
    router = DefaultRouter([route("get", "/h", methods=("GET",))])
    assert matched_name(router, "/h", "HEAD") == "get"


def test_explicit_head_route_beats_get() -> None:
    router = DefaultRouter([route("get", "/h", methods=("GET",)), route("head", "/h", methods=("HEAD",))])
    assert matched_name(router, "/h", "HEAD") == "head"
    assert matched_name(router, "/h", "GET") == "get"


def test_head_falls_back_to_get_on_dynamic_routes() -> None:
    router = DefaultRouter([route("get", "/h/{x}", methods=("GET",))])
    assert match(router, "/h/1", "HEAD").path_values == {"x": "1"}


def test_405_lists_the_allowed_methods_sorted_with_head() -> None:
    router = DefaultRouter(
        [route("get", "/m", methods=("GET",)), route("post", "/m", methods=("POST", "DELETE"))]
    )
    with pytest.raises(MethodNotAllowed) as info:
        router.match("PUT", "/m", NO_INPUT)
    assert info.value.code == 405
    assert info.value.allowed == ("DELETE", "GET", "HEAD", "POST")


def test_405_without_get_has_no_head() -> None:
    router = DefaultRouter([route("post", "/m", methods=("POST",))])
    with pytest.raises(MethodNotAllowed) as info:
        router.match("HEAD", "/m", NO_INPUT)
    assert info.value.allowed == ("POST",)


def test_405_collects_methods_from_every_matching_shape() -> None:
    router = DefaultRouter(
        [
            route("static", "/u/me", methods=("GET",)),
            route("var", "/u/{id}", methods=("PUT",)),
            route("regexp", regexp="^/u/", methods=("PATCH",)),
        ]
    )
    with pytest.raises(MethodNotAllowed) as info:
        router.match("DELETE", "/u/me", NO_INPUT)
    assert info.value.allowed == ("GET", "HEAD", "PATCH", "PUT")


def test_method_refused_by_a_static_route_falls_through_to_a_variable_route() -> None:
    router = DefaultRouter(
        [route("static", "/p/q", methods=("GET",)), route("var", "/p/{x}", methods=("POST",))]
    )
    assert matched_name(router, "/p/q", "POST") == "var"


def test_404_when_no_route_has_the_path() -> None:
    router = DefaultRouter([route("get", "/m", methods=("GET",))])
    with pytest.raises(HttpError) as info:
        router.match("GET", "/other", NO_INPUT)
    assert info.value.code == 404
    assert not isinstance(info.value, MethodNotAllowed)
    assert info.value.message == "Not Found"


def test_empty_router_is_404() -> None:
    assert status_of(DefaultRouter([]), "/") == 404


# ---------------------------------------------------------------- narrowing


def narrowed_router() -> DefaultRouter:
    return DefaultRouter(
        [
            route("eq", "/n", methods=("GET",), params=("a=b",)),
            route("ne", "/n", methods=("GET",), params=("a!=b",)),
            route("absent", "/n", methods=("GET",), params=("!a",)),
        ]
    )


@pytest.mark.parametrize(
    ("parameters", "name"),
    [({"a": ["b"]}, "eq"), ({"a": ["c"]}, "ne"), ({}, "absent"), ({"a": ["c", "b"]}, "eq")],
)
def test_routes_differing_only_by_narrowing(parameters: dict[str, list[str]], name: str) -> None:
    assert matched_name(narrowed_router(), "/n", request=FakeRequest(parameters)) == name


def test_first_registered_narrowing_match_wins() -> None:
    # 1.x tried same-path routes last-registered first; we try them in registration order.
    router = DefaultRouter([route("first", "/nf", params=("a=1",)), route("second", "/nf", params=("b=1",))])
    assert matched_name(router, "/nf", request=FakeRequest({"a": ["1"], "b": ["1"]})) == "first"
    assert matched_name(router, "/nf", request=FakeRequest({"b": ["1"]})) == "second"


def test_narrowing_mismatch_is_404_not_405() -> None:
    router = DefaultRouter(
        [route("get", "/n", methods=("GET",), params=("a=b",)), route("post", "/n", methods=("POST",))]
    )
    with pytest.raises(HttpError) as info:
        router.match("GET", "/n", FakeRequest({"a": ["c"]}))
    assert info.value.code == 404
    assert not isinstance(info.value, MethodNotAllowed)


def test_narrowing_mismatch_falls_through_to_a_less_specific_route() -> None:
    # 1.x answered 404 here; a route that refuses the request should not hide the next one.
    router = DefaultRouter([route("var", "/u/{id}"), route("me", "/u/me", params=("a=1",))])
    assert matched_name(router, "/u/me", request=FakeRequest({"a": ["1"]})) == "me"
    m = match(router, "/u/me", request=FakeRequest())
    assert m.route.handler.__qualname__ == "var"
    assert m.path_values == {"id": "me"}


def test_unnarrowed_route_is_the_fallback_after_narrowed_ones() -> None:
    router = DefaultRouter([route("json", "/x", headers=("Accept^=application/json",)), route("other", "/x")])
    assert matched_name(router, "/x", request=FakeRequest(headers={"accept": "application/json"})) == "json"
    assert matched_name(router, "/x", request=FakeRequest(headers={"accept": "text/html"})) == "other"


@pytest.mark.parametrize(("match_all", "expected"), [(True, 404), (False, 200)])
def test_match_all_params_in_router(match_all: bool, expected: int) -> None:
    router = DefaultRouter([route("r", "/n", params=("a=b", "c!=d"), match_all_params=match_all)])
    request = FakeRequest({"a": ["b"], "c": ["d"]})
    if expected == 200:
        assert matched_name(router, "/n", request=request) == "r"
    else:
        assert status_of(router, "/n", request=request) == 404


@pytest.mark.parametrize(("match_all", "expected"), [(True, 404), (False, 200)])
def test_match_all_headers_in_router(match_all: bool, expected: int) -> None:
    router = DefaultRouter([route("r", "/n", headers=("X-A=1", "X-B"), match_all_headers=match_all)])
    request = FakeRequest(headers={"x-a": "1"})
    if expected == 200:
        assert matched_name(router, "/n", request=request) == "r"
    else:
        assert status_of(router, "/n", request=request) == 404


def test_narrowing_on_regexp_and_dynamic_routes() -> None:
    router = DefaultRouter(
        [route("var", "/v/{x}", params=("k",)), route("re", regexp="^/r/(.*)$", headers=("X-K",))]
    )
    assert matched_name(router, "/v/1", request=FakeRequest({"k": [""]})) == "var"
    assert status_of(router, "/v/1") == 404
    assert matched_name(router, "/r/1", request=FakeRequest(headers={"x-k": "v"})) == "re"
    assert status_of(router, "/r/1") == 404


# ---------------------------------------------------------------- build errors and table


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "/a/{}"}, "not a valid path variable"),
        ({"path": "/a/{a"}, "unbalanced"),
        ({"path": "/a/**/b"}, "start or the end"),
        ({"regexp": "^(unclosed"}, "invalid regexp"),
        ({"path": "/a", "params": ("=b",)}, "narrowing expression"),
        ({"path": "/a", "headers": ("",)}, "narrowing expression"),
        ({}, "exactly one of path and regexp"),
        ({"path": "/a", "regexp": "^/a$"}, "exactly one of path and regexp"),
    ],
)
def test_build_errors_name_the_route(kwargs: dict[str, Any], message: str) -> None:
    bad = route("broken_controller", **kwargs)
    with pytest.raises(ValueError, match=message) as info:
        DefaultRouter([route("fine", "/ok"), bad])
    assert "broken_controller" in str(info.value)


def test_table_lists_every_route_once_in_preference_order() -> None:
    routes = [
        route("re", regexp="^/x"),
        route("all", "**"),
        route("var", "/p/{x}"),
        route("static", "/p/q"),
        route("same_shape", "/p/*"),
        route("rest", "/p/**"),
        route("literal_deeper", "/p/q/{y}"),
    ]
    table = DefaultRouter(routes).table()
    assert [r.handler.__qualname__ for r in table] == [
        "static",
        "literal_deeper",
        "var",
        "same_shape",
        "rest",
        "all",
        "re",
    ]
    assert sorted(map(id, table)) == sorted(map(id, routes))


def test_table_is_a_copy() -> None:
    router = DefaultRouter([route("a", "/a")])
    router.table().clear()
    assert len(router.table()) == 1


# ---------------------------------------------------------------- cost does not grow with position


class _CountingParams(dict[str, list[str]]):
    """Counts lookups, to prove a request touches the narrowing of few routes."""

    lookups = 0

    def get(self, key: str, default: Optional[list[str]] = None) -> Optional[list[str]]:  # type: ignore[override]
        _CountingParams.lookups += 1
        return super().get(key, default)


@pytest.mark.parametrize("index", [0, 99])
def test_dynamic_lookup_does_not_scan_other_routes(index: int) -> None:
    # Every route's narrowing is evaluated only if its path shape matched: with distinct
    # literal prefixes only one route is consulted, whether it is the first or the last.
    routes = [route(f"r{i}", f"/items{i}/{{id}}", params=("k=1",)) for i in range(100)]
    router = DefaultRouter(routes)
    _CountingParams.lookups = 0
    m = router.match("GET", f"/items{index}/7", FakeRequest(_CountingParams(k=["1"])))
    assert m.route is routes[index]
    assert m.path_values == {"id": "7"}
    assert _CountingParams.lookups == 1
