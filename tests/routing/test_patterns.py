"""Compiling route paths into trie segments."""
from __future__ import annotations

import pytest

from naja_atra.routing.patterns import WILDCARD, SegmentKind, compile_path, split_path


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("/", [""]),
        ("/a", ["a"]),
        ("/a/", ["a", ""]),
        ("/a/b/c", ["a", "b", "c"]),
        ("*/star", ["*", "star"]),
        ("a/b", ["a", "b"]),
    ],
)
def test_split_path_drops_one_leading_slash(path: str, segments: list[str]) -> None:
    assert split_path(path) == segments


def test_literal_path_is_static() -> None:
    pattern = compile_path("/a/b.c/d")
    assert pattern.static
    assert pattern.key == "/a/b.c/d"
    assert [s.kind for s in pattern.segments] == [SegmentKind.LITERAL] * 3
    assert pattern.names() == ()


def test_root_is_static() -> None:
    pattern = compile_path("/")
    assert pattern.static
    assert pattern.key == "/"


def test_whole_segment_variable_is_a_param_without_regex() -> None:
    pattern = compile_path("/users/{id}/posts/{post_id}")
    assert not pattern.static
    kinds = [s.kind for s in pattern.segments]
    assert kinds == [SegmentKind.LITERAL, SegmentKind.PARAM, SegmentKind.LITERAL, SegmentKind.PARAM]
    assert pattern.segments[1].regex is None
    assert pattern.names() == ("id", "post_id")


def test_star_segment_is_a_param_captured_as_wildcard() -> None:
    pattern = compile_path("/star/*")
    assert pattern.segments[1].kind is SegmentKind.PARAM
    assert pattern.names() == (WILDCARD,)
    assert not pattern.rest_first


def test_star_and_variable_segments_share_a_shape() -> None:
    # Same key: /p/{x} and /p/* land on one trie node.
    assert compile_path("/p/{x}").segments[1].key == compile_path("/p/*").segments[1].key


def test_mixed_segment_gets_an_escaped_regex() -> None:
    segment = compile_path("/files/{name}.txt").segments[1]
    assert segment.kind is SegmentKind.MIXED
    assert segment.regex is not None
    assert segment.names == ("name",)
    m = segment.regex.fullmatch("report.v2.txt")
    assert m is not None and m.groups() == ("report.v2",)
    # The dot is literal, not "any character".
    assert segment.regex.fullmatch("reportXtxt") is None
    assert segment.regex.fullmatch(".txt") is None


def test_mixed_segments_with_different_names_share_a_key() -> None:
    a = compile_path("/{a}.txt").segments[0]
    b = compile_path("/{b}.txt").segments[0]
    assert a.key == b.key
    assert (a.names, b.names) == (("a",), ("b",))


def test_partial_star_is_a_mixed_segment() -> None:
    segment = compile_path("*.html").segments[0]
    assert segment.kind is SegmentKind.MIXED
    assert segment.names == (WILDCARD,)


@pytest.mark.parametrize(("path", "rest_first"), [("/static/**", False), ("**/star", True), ("**", True)])
def test_double_star_is_a_rest_segment(path: str, rest_first: bool) -> None:
    pattern = compile_path(path)
    rest = pattern.segments[0] if rest_first else pattern.segments[-1]
    assert rest.kind is SegmentKind.REST
    assert rest.regex is None
    assert pattern.rest_first is rest_first
    assert pattern.names() == (WILDCARD,)


def test_rest_with_text_has_a_regex() -> None:
    rest = compile_path("**.html").segments[0]
    assert rest.kind is SegmentKind.REST
    assert rest.regex is not None
    m = rest.regex.fullmatch("a/b/page.html")
    assert m is not None and m.groups() == ("a/b/page",)


def test_names_in_reverse_order_for_rest_first_patterns() -> None:
    pattern = compile_path("**/{a}/x/{b}.{c}")
    assert pattern.names() == (WILDCARD, "a", "b", "c")
    # Segments walked last to first; the groups of one segment stay left to right.
    assert pattern.names(reverse=True) == ("b", "c", "a", WILDCARD)


def test_unicode_variable_names_are_allowed() -> None:
    assert compile_path("/{名字}").names() == ("名字",)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", "empty"),
        ("/a/{}", "not a valid path variable"),
        ("/a/{a-b}", "not a valid path variable"),
        ("/a/{a", "unbalanced"),
        ("/a/a}", "unbalanced"),
        ("/a/{{a}}", "unbalanced"),
        ("/a/**/b", "start or the end"),
        ("/a/x**/b", "start or the end"),
        ("/*/a/*", "more than one wildcard"),
        ("**/a/**", "more than one wildcard"),
        ("/a/***", "mixes"),
        ("/a/{x}**", "mixes"),
        ("/a/{x}/{x}", "twice"),
    ],
)
def test_invalid_patterns_raise_value_error(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compile_path(path)
