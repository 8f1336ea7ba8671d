"""``naja_atra.injection.convert``: converters built once per annotation, from strings
and from JSON values, reporting every bad value with its path."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, NewType, Optional, Set, Tuple, Union

import pytest
from typing_extensions import Annotated, Literal, NotRequired, TypedDict

from naja_atra.injection.convert import (
    ConversionError,
    Issue,
    is_body_type,
    is_sequence_type,
    json_converter,
    received,
    string_converter,
    strings_converter,
    strip_optional,
    type_label,
)
from naja_atra.injection.markers import JSONBody


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


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


@dataclass
class Node:
    value: int
    children: List[Node] = field(default_factory=list)


@dataclass
class Positive:
    n: int

    def __post_init__(self) -> None:
        if self.n <= 0:
            raise ValueError("n must be positive")


class Item(TypedDict):
    sku: str
    qty: int
    note: NotRequired[str]


UserId = NewType("UserId", int)


def issues_of(convert: Any, value: Any) -> list[tuple[str, str, Any, str]]:
    with pytest.raises(ConversionError) as info:
        convert(value)
    return [(i.path, i.expected, i.received, i.reason) for i in info.value.issues]


# -- strings ---------------------------------------------------------------------------


@pytest.mark.parametrize(("tp", "text", "value"), [
    (str, "abc", "abc"),
    (Any, "x", "x"),
    (int, "42", 42),
    (int, "-7", -7),
    (float, "2.5", 2.5),
    (float, "3", 3.0),
    (bool, "true", True),
    (bool, "On", True),
    (bool, "1", True),
    (bool, "no", False),
    (bool, "", False),
    (Color, "green", Color.GREEN),
    (Color, "GREEN", Color.GREEN),
    (Level, "2", Level.HIGH),
    (Level, "LOW", Level.LOW),
    (Literal["a", "b"], "b", "b"),
    (Literal[1, 2], "2", 2),
    (Literal[True], "true", True),
    (Optional[int], "5", 5),
    (Optional[int], "", None),
    (Optional[str], "", ""),
    (Union[int, str], "x", "x"),
    (Union[int, str], "3", 3),
    (UserId, "9", 9),
    (Annotated[int, "meta"], "4", 4),
    (dict, '{"a": [1]}', {"a": [1]}),
    (Dict[str, int], '{"a": 1}', {"a": 1}),
    (Address, '{"city": "c", "zip": 1}', Address("c", 1)),
])
def test_string_converter(tp: Any, text: str, value: Any) -> None:
    result = string_converter(tp)(text)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(("tp", "text", "expected", "reason"), [
    (int, "x", "int", "not an integer"),
    (int, "1.5", "int", "not an integer"),
    (int, "1_000", "int", "not an integer"),
    (int, " 1", "int", "not an integer"),
    (float, "abc", "float", "not a number"),
    (float, "nan", "float", "not a number"),
    (bool, "maybe", "bool", "not a boolean (use true/false, 1/0, yes/no or on/off)"),
    (Color, "blue", "Color", "not one of 'red', 'green'"),
    (Literal["a", "b"], "c", "Literal['a', 'b']", "not one of 'a', 'b'"),
    (Optional[int], "q", "int | None", "not an integer"),
    (dict, "{oops", "dict", "not valid JSON"),
])
def test_string_converter_errors(tp: Any, text: str, expected: str, reason: str) -> None:
    assert issues_of(string_converter(tp), text) == [("", expected, text, reason)]


def test_union_of_several_types_reports_the_union() -> None:
    assert issues_of(string_converter(Union[int, float]), "x") == [
        ("", "int | float", "x", "matches none of int | float")]


def test_unsupported_string_types_fail_at_build() -> None:
    with pytest.raises(TypeError, match="Opaque"):
        string_converter(Opaque)
    with pytest.raises(TypeError):
        string_converter(List[int])  # every value of a parameter: strings_converter


@pytest.mark.parametrize(("tp", "values", "result"), [
    (list, ["a", "b"], ["a", "b"]),
    (List[str], ["a"], ["a"]),
    (List[int], ["1", "20"], [1, 20]),
    (Optional[List[int]], ["3"], [3]),
    (Tuple[int, ...], ["1", "2"], (1, 2)),
    (Set[int], ["1", "1", "2"], {1, 2}),
    (FrozenSet[str], ["x"], frozenset({"x"})),
    (List[Color], ["red", "GREEN"], [Color.RED, Color.GREEN]),
])
def test_strings_converter(tp: Any, values: list[str], result: Any) -> None:
    assert strings_converter(tp)(values) == result


def test_strings_converter_reports_every_bad_item() -> None:
    assert issues_of(strings_converter(List[int]), ["1", "x", "2", "y"]) == [
        ("[1]", "int", "x", "not an integer"), ("[3]", "int", "y", "not an integer")]


def test_strings_converter_refuses_fixed_tuples_and_non_lists() -> None:
    with pytest.raises(TypeError):
        strings_converter(Tuple[int, str])
    with pytest.raises(TypeError):
        strings_converter(int)


def test_pep604_unions() -> None:
    tp = eval("int | None")
    assert string_converter(tp)("3") == 3
    assert string_converter(tp)("") is None
    assert strip_optional(tp) == (int, True)


# -- JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize(("tp", "data", "value"), [
    (int, 3, 3),
    (float, 3, 3.0),
    (float, 2.5, 2.5),
    (str, "s", "s"),
    (bool, False, False),
    (type(None), None, None),
    (Any, {"a": 1}, {"a": 1}),
    (Optional[int], None, None),
    (Optional[int], 1, 1),
    (List[int], [1, 2], [1, 2]),
    (Tuple[int, str], [1, "a"], (1, "a")),
    (Tuple[int, ...], [1, 2, 3], (1, 2, 3)),
    (Set[str], ["a", "a"], {"a"}),
    (Dict[str, float], {"a": 1}, {"a": 1.0}),
    (Dict[int, str], {"1": "a"}, {1: "a"}),
    (dict, {"k": [1]}, {"k": [1]}),
    (Color, "red", Color.RED),
    (Color, "RED", Color.RED),
    (Level, 2, Level.HIGH),
    (Literal["x", 1], 1, 1),
    (UserId, 5, 5),
    (Union[int, str], "a", "a"),
])
def test_json_converter(tp: Any, data: Any, value: Any) -> None:
    result = json_converter(tp)(data)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(("tp", "data", "expected", "got", "reason"), [
    (int, "1", "int", "1", "expected an integer"),
    (int, True, "int", True, "expected an integer"),
    (int, 1.5, "int", 1.5, "expected an integer"),
    (float, "1", "float", "1", "expected a number"),
    (str, 1, "str", 1, "expected a string"),
    (bool, 1, "bool", 1, "expected true or false"),
    (List[int], {"a": 1}, "list[int]", "object", "expected an array"),
    (Dict[str, int], [1], "dict[str, int]", "array", "expected an object"),
    (Color, "blue", "Color", "blue", "not one of 'red', 'green'"),
    (Literal[1, 2], True, "Literal[1, 2]", True, "not one of 1, 2"),
    (Tuple[int, int], [1], "tuple[int, int]", "array", "expected an array of 2 items"),
    (type(None), 0, "None", 0, "expected null"),
])
def test_json_converter_errors(tp: Any, data: Any, expected: str, got: Any, reason: str) -> None:
    assert issues_of(json_converter(tp), data) == [("", expected, got, reason)]


def test_dataclass_from_json() -> None:
    convert = json_converter(User)
    user = convert({"name": "k", "age": 3, "address": {"city": "c", "zip": 1}, "color": "green", "extra": 1})
    assert user == User("k", 3, Address("c", 1), [], Color.GREEN)


def test_dataclass_reports_every_bad_field_with_its_path() -> None:
    data = {"name": 1, "age": "3", "address": {"city": "c"}, "tags": ["a", 2, 3], "color": "blue"}
    assert issues_of(json_converter(User), data) == [
        ("name", "str", 1, "expected a string"),
        ("age", "int", "3", "expected an integer"),
        ("address.zip", "int", None, "missing"),
        ("tags[1]", "str", 2, "expected a string"),
        ("tags[2]", "str", 3, "expected a string"),
        ("color", "Color | None", "blue", "not one of 'red', 'green'"),
    ]


def test_recursive_dataclass() -> None:
    convert = json_converter(Node)
    tree = convert({"value": 1, "children": [{"value": 2}, {"value": 3, "children": [{"value": 4}]}]})
    assert tree.children[1].children[0] == Node(4)
    assert issues_of(convert, {"value": 1, "children": [{"value": "x"}]}) == [
        ("children[0].value", "int", "x", "expected an integer")]


def test_dataclass_validation_error_is_an_issue() -> None:
    assert issues_of(json_converter(Positive), {"n": 0}) == [("", "Positive", "object", "n must be positive")]


def test_typeddict_from_json() -> None:
    convert = json_converter(List[Item])
    assert convert([{"sku": "a", "qty": 1, "other": True}, {"sku": "b", "qty": 2, "note": "n"}]) == [
        {"sku": "a", "qty": 1}, {"sku": "b", "qty": 2, "note": "n"}]
    assert issues_of(convert, [{"sku": "a", "qty": "1"}, {"qty": 1, "note": 5}]) == [
        ("[0].qty", "int", "1", "expected an integer"),
        ("[1].sku", "str", None, "missing"),
        ("[1].note", "str", 5, "expected a string"),
    ]


def test_dict_values_are_checked_with_their_keys() -> None:
    assert issues_of(json_converter(Dict[str, int]), {"a": 1, "b": "x"}) == [("b", "int", "x", "expected an integer")]


def test_jsonbody_type_keeps_its_class() -> None:
    value = json_converter(JSONBody)({"a": 1})
    assert type(value) is JSONBody and value == {"a": 1}


class Opaque:
    pass


@dataclass
class Holder:
    thing: Opaque


def test_unsupported_json_types_fail_at_build() -> None:
    with pytest.raises(TypeError, match="Opaque"):
        json_converter(Opaque)
    with pytest.raises(TypeError, match="Holder.thing"):
        json_converter(Holder)


def test_unresolvable_field_types_fail_at_build_with_a_clear_message() -> None:
    @dataclass
    class Local:  # under ``from __future__ import annotations`` its field type is a string
        other: Opaque2  # type: ignore[name-defined]  # noqa: F821 - deliberately undefined

    with pytest.raises(TypeError, match="cannot resolve the field types of Local"):
        json_converter(Local)


def test_converters_are_built_once_not_per_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """The request path only calls closures: type inspection happens at build."""
    import naja_atra.injection.convert as convert_module

    convert = json_converter(List[User])
    calls: list[Any] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise AssertionError("type inspected per value")

    monkeypatch.setattr(convert_module, "get_type_hints", spy)
    monkeypatch.setattr(convert_module, "get_origin", spy)
    monkeypatch.setattr(convert_module, "get_args", spy)
    data = [{"name": "k", "age": 1, "address": {"city": "c", "zip": 1}}] * 3
    assert len(convert(data)) == 3
    assert calls == []


# -- helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(("tp", "label"), [
    (int, "int"),
    (List[int], "list[int]"),
    (Optional[int], "int | None"),
    (Dict[str, List[int]], "dict[str, list[int]]"),
    (Literal["a"], "Literal['a']"),
    (Tuple[int, ...], "tuple[int, ...]"),
    (Any, "any"),
    (User, "User"),
    (Annotated[int, "x"], "int"),
])
def test_type_label(tp: Any, label: str) -> None:
    assert type_label(tp) == label


def test_sequence_and_body_types() -> None:
    assert is_sequence_type(List[int]) and is_sequence_type(list) and is_sequence_type(Optional[Set[str]])
    assert not is_sequence_type(str) and not is_sequence_type(dict)
    assert is_body_type(User) and is_body_type(Item) and is_body_type(Optional[User])
    assert not is_body_type(dict) and not is_body_type(int)


def test_received_never_echoes_a_whole_body() -> None:
    assert received({"a": 1}) == "object"
    assert received([1, 2]) == "array"
    assert received("x" * 500) == "x" * 200 + "..."
    assert received(float("inf")) == "inf"
    assert received(3) == 3


def test_issue_paths_compose() -> None:
    issue = Issue("", "int", "x", "bad")
    assert issue.under("a").path == "a"
    assert issue.under("a").under("[0]").path == "[0].a"
    assert Issue("[1]", "int", 1, "r").under("tags").path == "tags[1]"
