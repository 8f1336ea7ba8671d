"""One path dialect (docs/paths.md): a pattern accepts the same paths as a route, as a
request filter and as a static mapping; the static mapping's two documented differences
(unsafe paths, plain patterns as folder mounts) are asserted as differences."""
from __future__ import annotations

import http.client
import random
import re
import zlib
from functools import cache
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from naja_atra.app.application import Application
from naja_atra.app.context import FilterContext
from naja_atra.app.filtering import CompiledFilter, RouteFilters
from naja_atra.app.routes import FilterSpec, Route
from naja_atra.http.errors import HttpError
from naja_atra.http.request import Request
from naja_atra.http.static_files import StaticMapping
from naja_atra.routing import DefaultRouter
from naja_atra.routing.wildcards import WildcardPattern, match_regexp

from . import FakeRequest

DOC = Path(__file__).resolve().parents[2] / "docs" / "paths.md"
WAIT = 5.0  # bound for every wait on the network

# ---------------------------------------------------------------- the three matchers


@cache
def _router(pattern: str) -> DefaultRouter:
    return DefaultRouter([Route(lambda: None, path=pattern)])


def route_match(pattern: str, path: str) -> Optional[dict[str, str]]:
    """The route's path values, or None when the default router answers 404."""
    try:
        return _router(pattern).match("GET", path, FakeRequest()).path_values
    except HttpError as e:
        assert e.code == 404
        return None


def _noop_filter(ctx: Any) -> None:
    pass


@cache
def _filter(pattern: str) -> CompiledFilter:
    return CompiledFilter(FilterSpec(_noop_filter, path=pattern))


def filter_matches(pattern: str, path: str) -> bool:
    return _filter(pattern).matches(path)


@cache
def _mapping(pattern: str) -> StaticMapping:
    return StaticMapping({pattern: "/nonexistent-root"})


def static_matches(pattern: str, path: str) -> bool:
    """Whether the mapping would look for a file for ``path`` (no file system involved)."""
    return next(_mapping(pattern).matches(path), None) is not None


def unsafe(path: str) -> bool:
    """A path no static mapping serves (docs/paths.md, "Static mappings", 2)."""
    rel = path[1:] if path.startswith("/") else path
    return any(segment in ("", ".", "..") for segment in rel.split("/"))


def folder_mount(pattern: str) -> str:
    """What a plain pattern means in a static mapping (docs/paths.md, "Static mappings", 1)."""
    return pattern if not WildcardPattern(pattern).plain else pattern.rstrip("/") + "/**"


# ---------------------------------------------------------------- the table

PATHS = [
    "/", "/a", "/a/", "/a/b", "/a/b/", "/a/b/c", "/a//c", "/a/x", "/a/xy", "/a/x.txt",
    "/a/p.html", "/a/.html", "/p.html", "/.html", "/abhtml", "/a.b.html", "/a/b/p.html",
    "/b", "/c/b", "/a/c/b", "/a/c/d/b", "/a/a b", "/a/a+b", "/a/%41", "/a/x/b/",
    "/a/./b", "/a/../b", "/edit", "/doc/edit",
]

# Every pattern with the paths of PATHS it accepts: the same for a route and a filter.
TABLE: dict[str, set[str]] = {
    "/a/*": {"/a/b", "/a/x", "/a/xy", "/a/x.txt", "/a/p.html", "/a/.html", "/a/a b", "/a/a+b", "/a/%41"},
    "/a/**": {"/a/b", "/a/b/", "/a/b/c", "/a//c", "/a/x", "/a/xy", "/a/x.txt", "/a/p.html", "/a/.html",
              "/a/b/p.html", "/a/c/b", "/a/c/d/b", "/a/a b", "/a/a+b", "/a/%41", "/a/x/b/", "/a/./b",
              "/a/../b"},
    "/a/x*": {"/a/xy", "/a/x.txt"},
    "/a/*.html": {"/a/p.html"},
    "*.html": {"/p.html", "/a.b.html"},
    "/*.html": {"/p.html", "/a.b.html"},
    "**.html": {"/a/p.html", "/a/.html", "/p.html", "/a.b.html", "/a/b/p.html"},  # ** takes "a/"
    "**/b": {"/a/b", "/c/b", "/a/c/b", "/a/c/d/b", "/a/./b", "/a/../b"},
    "/a/*/b": {"/a/c/b", "/a/./b", "/a/../b"},
    "/a/{x}/b": {"/a/c/b", "/a/./b", "/a/../b"},
    "/a/{x}": {"/a/b", "/a/x", "/a/xy", "/a/x.txt", "/a/p.html", "/a/.html", "/a/a b", "/a/a+b", "/a/%41"},
    "/a/{x}/**": {"/a/b/c", "/a/b/p.html", "/a/c/b", "/a/c/d/b", "/a/x/b/", "/a/./b", "/a/../b"},
    "/*": {"/a", "/p.html", "/.html", "/abhtml", "/a.b.html", "/b", "/edit"},
    "/**": set(PATHS) - {"/"},
    "**": set(PATHS) - {"/"},
    "**/edit": {"/doc/edit"},
    "/a": {"/a"},
    "/a/": {"/a/"},
    "/a/b": {"/a/b"},
    "/": {"/"},
}


def _cases() -> Iterator[tuple[str, str]]:
    for pattern in TABLE:
        for path in PATHS:
            yield pattern, path


def test_table_paths_are_all_listed() -> None:
    for pattern, matched in TABLE.items():
        assert matched <= set(PATHS), pattern


@pytest.mark.parametrize(("pattern", "path"), list(_cases()))
def test_route_filter_and_static_mapping_agree(pattern: str, path: str) -> None:
    expected = path in TABLE[pattern]
    assert (route_match(pattern, path) is not None) == expected, "route"
    assert filter_matches(pattern, path) == expected, "filter"
    assert WildcardPattern(pattern).matches(path) == expected, "shared matcher"
    # The static mapping: the same set, less the unsafe paths; a plain pattern is a folder.
    mount = folder_mount(pattern)
    static_expected = (route_match(mount, path) is not None) and not unsafe(path)
    assert static_matches(pattern, path) == static_expected, "static mapping"
    if mount == pattern:
        assert static_expected == (expected and not unsafe(path))


def _random_paths(seed: int, count: int) -> list[str]:
    """Paths made of the pieces wildcards disagree on: slashes, empty segments, dots, text."""
    rng = random.Random(seed)
    pieces = ["/", "/", "a", "b", "x", ".html", "edit", "..", " "]
    return [("/" if rng.random() < 0.9 else "") + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
            for _ in range(count)]


@pytest.mark.parametrize("pattern", [*TABLE, "/a/x**", "**x/b", "/{n}.html", "**/{n}/edit"])
def test_random_paths_agree(pattern: str) -> None:
    mount = folder_mount(pattern)
    for path in _random_paths(zlib.crc32(pattern.encode()), 300):
        routed = route_match(pattern, path)
        assert WildcardPattern(pattern).match(path) == routed, path
        assert filter_matches(pattern, path) == (routed is not None), path
        static_expected = (route_match(mount, path) is not None) and not unsafe(path)
        assert static_matches(pattern, path) == static_expected, path


@pytest.mark.parametrize(("pattern", "path"), [(p, x) for p, x in _cases() if x in TABLE[p]])
def test_shared_matcher_captures_what_the_router_captures(pattern: str, path: str) -> None:
    assert WildcardPattern(pattern).match(path) == route_match(pattern, path)


@pytest.mark.parametrize(
    ("pattern", "path", "values"),
    [
        ("/f/{name}.{ext}", "/f/report.tar.gz", {"name": "report.tar", "ext": "gz"}),
        ("**/{name}/edit", "/x/y/doc/edit", {"*": "x/y", "name": "doc"}),
        ("/b/{bucket}/**", "/b/photos/2024/a.jpg", {"bucket": "photos", "*": "2024/a.jpg"}),
        ("/static/x**", "/static/xa/b", {"*": "a/b"}),
        ("**x/{n}", "/a/bx/c", {"*": "a/b", "n": "c"}),
    ],
)
def test_captures_of_mixed_patterns_agree(pattern: str, path: str, values: dict[str, str]) -> None:
    assert route_match(pattern, path) == values
    assert WildcardPattern(pattern).match(path) == values
    assert filter_matches(pattern, path)


# ---------------------------------------------------------------- the documented differences


@pytest.mark.parametrize("path", ["/a/b/", "/a//c", "/a/./b", "/a/../b", "/a/x/b/"])
def test_static_mapping_never_matches_an_unsafe_path(path: str) -> None:
    # A difference: route and filter /a/** take these paths, a static mapping does not.
    assert route_match("/a/**", path) is not None
    assert filter_matches("/a/**", path)
    assert not static_matches("/a/**", path)


@pytest.mark.parametrize("pattern", ["/a", "/a/", "a"])
def test_a_plain_static_pattern_is_a_folder_mount(pattern: str) -> None:
    # A difference: a plain route or filter takes one path, a plain mapping a folder.
    assert route_match(pattern, "/a/b/c") is None
    assert not filter_matches(pattern, "/a/b/c")
    assert static_matches(pattern, "/a/b/c")
    assert static_matches(pattern, "/a/b")
    assert not static_matches(pattern, "/a")  # a folder has no file for itself


def test_root_static_pattern_is_everything() -> None:
    assert static_matches("/", "/x/y.txt") and static_matches("", "/x")
    assert route_match("/", "/x/y.txt") is None


@pytest.mark.parametrize(
    ("pattern", "path", "served"),
    [
        ("/p/**", "/p/a/b.txt", "a/b.txt"),
        ("/p", "/p/a/b.txt", "a/b.txt"),
        ("/p/*.txt", "/p/a.txt", "a.txt"),
        ("*.css", "/x.css", "x.css"),
        ("**.js", "/d/e/c.js", "d/e/c.js"),
        ("**/b", "/a/c/b", "a/c/b"),
        ("/a/*/b", "/a/c/b", "c/b"),
        ("/p/x*", "/p/xy", "xy"),
        ("/u/{user}/avatar.png", "/u/ann/avatar.png", "ann/avatar.png"),
    ],
)
def test_static_mapping_serves_the_path_from_its_first_pattern_segment(pattern: str, path: str,
                                                                      served: str) -> None:
    [(_, rel)] = list(_mapping(pattern).matches(path))
    assert rel == served


# ---------------------------------------------------------------- invalid patterns


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("/a/**/b", "start or the end"),
        ("/a/*/*", "more than one wildcard"),
        ("**/a/**", "more than one wildcard"),
        ("/a/***", "mixes"),
        ("/a/{x}**", "mixes"),
        ("/a/{x}/{x}", "twice"),
        ("/a/{", "unbalanced"),
        ("/a/{}", "not a valid path variable"),
        ("/a/{a-b}", "not a valid path variable"),
    ],
)
def test_a_pattern_refused_for_a_route_is_refused_everywhere(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DefaultRouter([Route(lambda: None, path=pattern)])
    with pytest.raises(ValueError, match=message) as info:
        CompiledFilter(FilterSpec(_noop_filter, path=pattern))
    assert "_noop_filter" in str(info.value)
    with pytest.raises(ValueError, match=message):
        StaticMapping({pattern: "/tmp"})


# ---------------------------------------------------------------- regexp=


@pytest.mark.parametrize(
    ("regexp", "path", "groups"),
    [
        ("^/reg/(.+)$", "/reg/a/b", ("a/b",)),
        ("^reg/(.+)$", "/reg/a/b", ("a/b",)),  # tried without the leading "/" too
        ("abc", "/abcx", ()),  # re.match: anchored at the start only
        ("abc", "/xabc", None),
        ("^/a(/b)?$", "/a", (None,)),
    ],
)
def test_filter_regexp_is_tried_like_a_route_regexp(regexp: str, path: str,
                                                    groups: Optional[tuple[Optional[str], ...]]) -> None:
    router = DefaultRouter([Route(lambda: None, regexp=regexp)])
    try:
        route_groups: Optional[tuple[str, ...]] = router.match("GET", path, FakeRequest()).reg_groups
    except HttpError:
        route_groups = None
    m = match_regexp(re.compile(regexp), path)
    assert (m.groups() if m else None) == groups
    assert route_groups == (None if groups is None else tuple(g or "" for g in groups))
    assert CompiledFilter(FilterSpec(_noop_filter, regexp=regexp)).matches(path) == (groups is not None)


def test_bad_filter_regexp_names_the_filter() -> None:
    with pytest.raises(ValueError, match="_noop_filter.*invalid regexp"):
        CompiledFilter(FilterSpec(_noop_filter, regexp="(unclosed"))


# ---------------------------------------------------------------- filters chosen at build


def _named(name: str) -> Callable[[Any], None]:
    def func(ctx: Any) -> None:
        pass

    func.__qualname__ = name
    return func


def test_filters_of_a_plain_route_are_chosen_at_build_on_its_request_path() -> None:
    filters = [CompiledFilter(FilterSpec(_named("star"), path="/a/*")),
               CompiledFilter(FilterSpec(_named("slash_re"), regexp="^/a/b$")),
               CompiledFilter(FilterSpec(_named("other"), path="/a/b/*"))]
    # Written without its leading "/", the route takes the request path "/a/b".
    chosen = RouteFilters(Route(lambda: None, path="a/b"), filters)
    assert chosen.fixed is not None
    assert [f.__qualname__ for f in chosen.fixed] == ["star", "slash_re"]
    assert chosen.for_path("/a/b") == chosen.fixed


def test_filters_of_a_wildcard_route_are_matched_per_request() -> None:
    filters = [CompiledFilter(FilterSpec(_named("star"), path="/a/*"))]
    chosen = RouteFilters(Route(lambda: None, path="/a/**"), filters)
    assert chosen.fixed is None
    assert [f.__qualname__ for f in chosen.for_path("/a/b")] == ["star"]
    assert chosen.for_path("/a/b/c") == ()
    assert chosen.for_path("/a/") == ()  # the old filter dialect took an empty segment here


# ---------------------------------------------------------------- the examples of docs/paths.md


def _doc_examples() -> list[tuple[str, list[str], list[str]]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Examples\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        pattern = cells[0].strip("`")
        matches = re.findall(r"`([^`]*)`", cells[1])
        misses = re.findall(r"`([^`]*)`", cells[2])
        rows.append((pattern, matches, misses))
    return rows


DOC_EXAMPLES = _doc_examples()


def test_the_doc_has_examples() -> None:
    assert len(DOC_EXAMPLES) >= 10


@pytest.mark.parametrize(("pattern", "matches", "misses"), DOC_EXAMPLES,
                         ids=[row[0] for row in DOC_EXAMPLES])
def test_doc_examples_hold_for_route_filter_and_static(pattern: str, matches: list[str],
                                                       misses: list[str]) -> None:
    mount = folder_mount(pattern)
    for path, expected in [(p, True) for p in matches] + [(p, False) for p in misses]:
        assert (route_match(pattern, path) is not None) == expected, (pattern, path, "route")
        assert filter_matches(pattern, path) == expected, (pattern, path, "filter")
        static_expected = (route_match(mount, path) is not None) and not unsafe(path)
        assert static_matches(pattern, path) == static_expected, (pattern, path, "static")


# ---------------------------------------------------------------- end to end, over a socket


@pytest.fixture(params=["threading", "asyncio"])
def serve(request: pytest.FixtureRequest) -> Iterator[Callable[..., int]]:
    """``port = serve(app, **start_options)``: ``app`` on 127.0.0.1, stopped after the test."""
    started: list[Application] = []

    def start(app: Application, **options: Any) -> int:
        app.run_in_thread(host="127.0.0.1", port=0, prefer_coroutine=request.param == "asyncio",
                          **options)  # returns once the server accepts (bounded: 10 s)
        started.append(app)
        assert app.server is not None
        return int(app.server.port)

    yield start
    for app in started:
        app.stop(timeout=2.0)


def _get(port: int, path: str) -> tuple[int, Optional[str], str]:
    """Status, X-Filter header and body of ``GET path``, on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, reply.getheader("X-Filter"), reply.read().decode("utf-8", "replace")
    finally:
        conn.close()


# pattern, {request path (as sent): served file relative to the folder, or None if no match}
E2E = [
    ("/a/*", {"/a/x.txt": "x.txt", "/a/x%20y.txt": "x y.txt", "/a/": None, "/a": None,
              "/a/d/y.txt": None}),
    ("**.txt", {"/x.txt": "x.txt", "/d/y.txt": "d/y.txt", "/.txt": None, "/d/y.css": None,
                "/d/": None}),
]


@pytest.mark.parametrize(("pattern", "probes"), E2E, ids=[p for p, _ in E2E])
def test_filter_route_and_static_mapping_with_one_pattern_take_the_same_requests(
        serve: Callable[..., int], tmp_path: Path, pattern: str, probes: dict[str, Optional[str]]) -> None:
    folder = tmp_path / "site"
    # Files for every probe, matching or not, so that a miss is the pattern's doing.
    for rel in ("x.txt", "x y.txt", "d/y.txt", "d/y.css", ".txt", "a/x.txt"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(f"file {rel}")
    app = Application()
    filtered: list[str] = []

    @app.request_filter(pattern)
    def mark(ctx: FilterContext) -> None:
        filtered.append(ctx.request.path)
        ctx.response.add_header("X-Filter", "yes")
        ctx.do_chain()

    @app.route(pattern, params="probe=route")
    def by_pattern(request: Request) -> str:
        return "route:" + request.path_values["*"]

    @app.route("**", params="probe=filter")
    def catch_all() -> str:
        return "catch-all"

    port = serve(app, resources={pattern: str(folder)})
    for path, served in probes.items():
        takes = served is not None
        # The filter, seen through a catch-all route that takes every path here.
        status, mark_header, body = _get(port, path + "?probe=filter")
        assert (status, body) == (200, "catch-all"), path
        assert (mark_header == "yes") == takes, (path, "filter")
        # The route written with the pattern.
        status, mark_header, body = _get(port, path + "?probe=route")
        if takes:
            assert status == 200 and body.startswith("route:"), (path, "route")
            assert mark_header == "yes"
        else:
            assert status == 404, (path, "route")
        # The static mapping written with the pattern (no route takes a request without probe).
        status, mark_header, body = _get(port, path)
        if takes:
            assert (status, body, mark_header) == (200, f"file {served}", "yes"), (path, "static")
        else:
            assert status == 404, (path, "static")
        assert all(WildcardPattern(pattern).matches(p) for p in filtered)
    taken = [p.replace("%20", " ") for p, served in probes.items() if served is not None]
    assert filtered == [p for p in taken for _ in range(3)]  # once per request, decoded
