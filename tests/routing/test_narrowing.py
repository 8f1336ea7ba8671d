"""Parsing and evaluating params=/headers= expressions."""
from __future__ import annotations

from typing import Mapping, Sequence

import pytest

from naja_atra.routing.narrowing import compile_expression, compile_narrowing

from . import CaseInsensitiveHeaders, FakeRequest, route

# (expression, parameters, expected)
PARAM_CASES: list[tuple[str, dict[str, Sequence[str]], bool]] = [
    ("a", {"a": ["1"]}, True),
    ("a", {"a": [""]}, True),  # ?a or ?a= : present
    ("a", {}, False),
    ("!a", {}, True),
    ("!a", {"a": [""]}, False),
    ("!a", {"b": ["1"]}, True),
    ("a=b", {"a": ["b"]}, True),
    ("a=b", {"a": ["c", "b"]}, True),  # some value
    ("a=b", {"a": ["c"]}, False),
    ("a=b", {"a": ["bb"]}, False),
    ("a=b", {}, False),
    ("a=", {"a": [""]}, True),
    ("a=", {"a": ["x"]}, False),
    ("a=b=c", {"a": ["b=c"]}, True),  # the first "=" is the operator
    ("a!=b", {"a": ["c"]}, True),
    ("a!=b", {"a": ["b"]}, False),
    ("a!=b", {"a": ["c", "b"]}, False),  # no value may equal
    ("a!=b", {}, False),  # a must be present (as in 1.x)
    ("a^=b", {"a": ["bcd"]}, True),
    ("a^=b", {"a": ["x", "bz"]}, True),
    ("a^=b", {"a": ["cb"]}, False),
    ("a^=b", {}, False),
    (" a =b", {"a": ["b"]}, True),  # the name is stripped
]


@pytest.mark.parametrize(("expression", "parameters", "expected"), PARAM_CASES)
def test_param_expression(expression: str, parameters: dict[str, Sequence[str]], expected: bool) -> None:
    assert compile_expression(expression)(parameters) is expected


# (expression, headers, expected): header mappings hold one string per name.
HEADER_CASES: list[tuple[str, dict[str, str], bool]] = [
    ("X-Token", {"x-token": "1"}, True),
    ("x-token", {"X-TOKEN": "1"}, True),
    ("X-Token", {}, False),
    ("!X-Token", {}, True),
    ("!X-Token", {"x-token": "1"}, False),
    ("X-Token=abc", {"x-token": "abc"}, True),
    ("X-Token=a", {"x-token": "abc"}, False),  # a string is not a sequence of one-letter values
    ("X-Token!=abc", {"X-Token": "abd"}, True),
    ("X-Token!=abc", {"X-Token": "abc"}, False),
    ("X-Token!=abc", {}, False),
    ("Accept^=text/", {"accept": "text/html"}, True),
    ("Accept^=text/", {"accept": "application/json"}, False),
]


@pytest.mark.parametrize(("expression", "headers", "expected"), HEADER_CASES)
def test_header_expression_is_case_insensitive_on_names(
    expression: str, headers: dict[str, str], expected: bool
) -> None:
    assert compile_expression(expression)(CaseInsensitiveHeaders(headers)) is expected


def test_value_comparison_is_case_sensitive() -> None:
    assert compile_expression("a=B")({"a": ["b"]}) is False


@pytest.mark.parametrize("expression", ["", "   ", "=b", "!=b", "^=b", "!", "!a=b", "a^b=c"])
def test_invalid_expression(expression: str) -> None:
    with pytest.raises(ValueError, match="narrowing expression"):
        compile_expression(expression)


def test_route_without_expressions_has_no_narrowing() -> None:
    assert compile_narrowing(route("plain", "/x")) is None


def test_invalid_expression_names_the_route() -> None:
    with pytest.raises(ValueError, match="bad_params_ctrl"):
        compile_narrowing(route("bad_params_ctrl", "/x", params=("=b",)))
    with pytest.raises(ValueError, match="bad_headers_ctrl"):
        compile_narrowing(route("bad_headers_ctrl", "/x", headers=("",)))


def test_a_bare_string_is_one_expression() -> None:
    narrowing = compile_narrowing(route("r", "/x", params="ab=c"))
    assert narrowing is not None
    assert narrowing.matches(FakeRequest({"ab": ["c"]}))
    assert not narrowing.matches(FakeRequest({"a": ["x"], "b": ["x"]}))


@pytest.mark.parametrize(
    ("match_all", "parameters", "expected"),
    [
        (True, {"a": ["b"], "c": ["e"]}, True),
        (True, {"a": ["b"], "c": ["d"]}, False),
        (True, {"a": ["b"]}, False),  # c!=d needs c
        (True, {}, False),
        (False, {"a": ["x"], "c": ["e"]}, True),
        (False, {"a": ["b"], "c": ["d"]}, True),
        (False, {"a": ["x"], "c": ["d"]}, False),
        (False, {}, False),
    ],
)
def test_match_all_params(match_all: bool, parameters: Mapping[str, Sequence[str]], expected: bool) -> None:
    r = route("r", "/x", params=("a=b", "c!=d"), match_all_params=match_all)
    narrowing = compile_narrowing(r)
    assert narrowing is not None
    assert narrowing.matches(FakeRequest(parameters)) is expected


@pytest.mark.parametrize(
    ("match_all", "headers", "expected"),
    [
        (True, {"x-a": "1", "x-b": "2"}, True),
        (True, {"x-a": "1"}, False),
        (False, {"x-a": "1"}, True),
        (False, {"x-b": "2"}, True),
        (False, {"x-c": "3"}, False),
    ],
)
def test_match_all_headers(match_all: bool, headers: dict[str, str], expected: bool) -> None:
    r = route("r", "/x", headers=("X-A=1", "X-B=2"), match_all_headers=match_all)
    narrowing = compile_narrowing(r)
    assert narrowing is not None
    assert narrowing.matches(FakeRequest(headers=headers)) is expected


def test_params_and_headers_must_both_hold() -> None:
    narrowing = compile_narrowing(route("r", "/x", params=("a",), headers=("X-A",)))
    assert narrowing is not None
    assert narrowing.matches(FakeRequest({"a": ["1"]}, {"X-A": "1"}))
    assert not narrowing.matches(FakeRequest({"a": ["1"]}, {}))
    assert not narrowing.matches(FakeRequest({}, {"X-A": "1"}))


class _NoParameters(FakeRequest):
    @property
    def parameters(self) -> Mapping[str, Sequence[str]]:
        raise AssertionError("parameters read for a route without params expressions")

    @parameters.setter
    def parameters(self, value: Mapping[str, Sequence[str]]) -> None:
        pass


def test_parameters_are_not_read_without_params_expressions() -> None:
    # request.parameters may parse a form body: a headers-only route must not touch it.
    narrowing = compile_narrowing(route("r", "/x", headers=("X-A",)))
    assert narrowing is not None
    assert narrowing.matches(_NoParameters(headers={"x-a": "1"}))
