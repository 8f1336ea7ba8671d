"""JSON Schema of Python types (naja_atra.openapi.schema), one type at a time.

Besides the exact schemas, several tests check that a schema accepts what the framework
sends (values rendered by the built-in JSON codec) and refuses what the JSON converter
refuses, with a JSON Schema 2020-12 validator.
"""
from __future__ import annotations

import datetime
import decimal
import enum
import typing
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Mapping, NewType, Optional, Sequence, Set, Tuple, Union

import jsonschema  # type: ignore[import-untyped]
import pytest
from typing_extensions import Annotated, Literal, NotRequired, Required, TypedDict

from naja_atra.http.forms import MultipartFile
from naja_atra.injection.markers import JSONBody, Parameter
from naja_atra.openapi.schema import SchemaBuilder, json_value

from . import other_models


def schema_of(tp: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(schema, components)`` of ``tp`` built by a fresh builder."""
    builder = SchemaBuilder()
    return builder.schema(tp), builder.components


def validator(schema: dict[str, Any], components: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator of ``schema`` whose ``$ref`` to components resolve, as in the document."""
    root = {**schema, "components": {"schemas": components}}
    jsonschema.Draft202012Validator.check_schema(root)
    return jsonschema.Draft202012Validator(root)


class Color(enum.Enum):
    """A colour of the test palette."""

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
    """A user of the tests.

    With an address."""

    name: str
    age: int = 30
    address: Optional[Address] = None
    tags: List[str] = field(default_factory=list)
    color: Color = Color.RED
    token: str = field(default="", init=False)


@dataclass
class Node:
    value: int
    children: List[Node] = field(default_factory=list)


@dataclass
class Ping:
    pong: Optional[Pong] = None


@dataclass
class Pong:
    ping: Optional[Ping] = None


@dataclass
class Broken:
    good: int
    bad: DoesNotExist  # type: ignore[name-defined]  # noqa: F821 - the unresolvable reference under test


class Line(TypedDict):
    sku: str
    qty: int


class Patch(TypedDict, total=False):
    name: str
    age: Required[int]


class Mixed(TypedDict):
    must: int
    may: NotRequired[str]


UserId = NewType("UserId", int)


@pytest.mark.parametrize(("tp", "expected"), [
    (str, {"type": "string"}),
    (int, {"type": "integer"}),
    (float, {"type": "number"}),
    (bool, {"type": "boolean"}),
    (bytes, {"type": "string", "contentMediaType": "application/octet-stream"}),
    (MultipartFile, {"type": "string", "contentMediaType": "application/octet-stream"}),
    (None, {"type": "null"}),
    (type(None), {"type": "null"}),
    (Any, {}),
    (object, {}),
    (datetime.datetime, {"type": "string", "format": "date-time"}),
    (datetime.date, {"type": "string", "format": "date"}),
    (datetime.time, {"type": "string", "format": "time"}),
    (uuid.UUID, {"type": "string", "format": "uuid"}),
    (decimal.Decimal, {"type": "string", "format": "decimal"}),
    (Parameter, {"type": "string"}),  # the 1.x markers are strings
    (UserId, {"type": "integer"}),
    (Annotated[int, "some metadata"], {"type": "integer"}),
    (Annotated[int, {"unhashable": []}], {"type": "integer"}),
])
def test_scalar_types(tp: Any, expected: dict[str, Any]) -> None:
    assert schema_of(tp) == (expected, {})


@pytest.mark.parametrize(("tp", "expected"), [
    (List[int], {"type": "array", "items": {"type": "integer"}}),
    (list, {"type": "array"}),
    (Sequence[str], {"type": "array", "items": {"type": "string"}}),
    (Tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
    (Tuple[int, str], {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
                       "items": False, "minItems": 2, "maxItems": 2}),
    (Set[int], {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}),
    (FrozenSet[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
    (Dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
    (Dict[str, Any], {"type": "object"}),
    (dict, {"type": "object"}),
    (JSONBody, {"type": "object"}),
    (Mapping[str, List[bool]], {"type": "object", "additionalProperties": {"type": "array",
                                                                           "items": {"type": "boolean"}}}),
])
def test_containers(tp: Any, expected: dict[str, Any]) -> None:
    assert schema_of(tp) == (expected, {})


def test_builtin_generics() -> None:
    """``list[int]`` and friends (PEP 585) as ``typing.List[int]``."""
    assert schema_of(list[int])[0] == {"type": "array", "items": {"type": "integer"}}
    assert schema_of(dict[str, float])[0] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert schema_of(tuple[str, ...])[0] == {"type": "array", "items": {"type": "string"}}


@pytest.mark.parametrize(("tp", "expected"), [
    (Optional[int], {"type": ["integer", "null"]}),
    (Optional[datetime.date], {"type": ["string", "null"], "format": "date"}),
    (Union[int, str], {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
    (Union[int, str, None], {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}),
    (Optional[Literal["a", "b"]], {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]}),
    (Union[int, Any], {}),
])
def test_unions(tp: Any, expected: dict[str, Any]) -> None:
    assert schema_of(tp)[0] == expected


def test_optional_class_is_any_of_a_reference_and_null() -> None:
    schema, components = schema_of(Optional[Address])
    assert schema == {"anyOf": [{"$ref": "#/components/schemas/Address"}, {"type": "null"}]}
    assert set(components) == {"Address"}


@pytest.mark.parametrize(("tp", "expected"), [
    (Literal["a"], {"type": "string", "const": "a"}),
    (Literal["asc", "desc"], {"type": "string", "enum": ["asc", "desc"]}),
    (Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
    (Literal[1, "a"], {"enum": [1, "a"]}),
    (Literal[True], {"type": "boolean", "const": True}),
    (Literal[Color.GREEN], {"type": "string", "const": "green"}),
])
def test_literals(tp: Any, expected: dict[str, Any]) -> None:
    assert schema_of(tp) == (expected, {})


def test_enum_is_a_component_of_its_values() -> None:
    schema, components = schema_of(Color)
    assert schema == {"$ref": "#/components/schemas/Color"}
    assert components == {"Color": {"type": "string", "title": "Color", "enum": ["red", "green"],
                                    "description": "A colour of the test palette."}}
    schema, components = schema_of(Level)
    assert components == {"Level": {"type": "integer", "title": "Level", "enum": [1, 2]}}


def test_dataclass_component() -> None:
    schema, components = schema_of(User)
    assert schema == {"$ref": "#/components/schemas/User"}
    assert components["User"] == {
        "type": "object",
        "title": "User",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "default": 30},
            "address": {"anyOf": [{"$ref": "#/components/schemas/Address"}, {"type": "null"}], "default": None},
            "tags": {"type": "array", "items": {"type": "string"}},
            "color": {"$ref": "#/components/schemas/Color", "default": "red"},
            "token": {"type": "string", "readOnly": True},
        },
        "required": ["name"],
        "description": "A user of the tests.\n\nWith an address.",
    }
    assert components["Address"] == {"type": "object", "title": "Address",
                                     "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}},
                                     "required": ["city", "zip"]}
    assert set(components) == {"User", "Address", "Color"}


def test_dataclass_schema_agrees_with_the_codec_and_the_converter() -> None:
    """What the codec writes for a User validates; what the body converter refuses does not."""
    from naja_atra.http.json_codec import DEFAULT_JSON_CODEC
    from naja_atra.injection.convert import ConversionError, json_converter

    schema, components = schema_of(User)
    check = validator(schema, components)
    written = DEFAULT_JSON_CODEC.loads(DEFAULT_JSON_CODEC.dumps(
        User("ann", 31, Address("Oslo", 150), ["a"], Color.GREEN)))
    assert list(check.iter_errors(written)) == []
    convert = json_converter(User)
    for bad in ({"age": 3}, {"name": 1}, {"name": "x", "address": {"city": "Oslo", "zip": "150"}},
                {"name": "x", "color": "blue"}, {"name": "x", "tags": "a"}):
        with pytest.raises(ConversionError):
            convert(bad)
        assert list(check.iter_errors(bad)), bad


def test_recursive_dataclass_refers_to_itself() -> None:
    schema, components = schema_of(Node)
    assert schema == {"$ref": "#/components/schemas/Node"}
    assert components == {"Node": {"type": "object", "title": "Node", "properties": {
        "value": {"type": "integer"},
        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}},
        "required": ["value"]}}
    check = validator(schema, components)
    assert list(check.iter_errors({"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]})) == []
    assert list(check.iter_errors({"value": 1, "children": [{"value": "two"}]}))


def test_mutually_recursive_dataclasses() -> None:
    schema, components = schema_of(Ping)
    assert schema == {"$ref": "#/components/schemas/Ping"}
    assert components["Ping"]["properties"]["pong"] == {
        "anyOf": [{"$ref": "#/components/schemas/Pong"}, {"type": "null"}], "default": None}
    assert components["Pong"]["properties"]["ping"] == {
        "anyOf": [{"$ref": "#/components/schemas/Ping"}, {"type": "null"}], "default": None}


def test_unresolvable_forward_references_are_any() -> None:
    assert schema_of("NotAType")[0] == {}
    assert schema_of(typing.ForwardRef("NotAType"))[0] == {}
    schema, components = schema_of(Broken)
    assert components["Broken"]["properties"] == {"good": {"type": "integer"}, "bad": {}}
    assert components["Broken"]["required"] == ["good", "bad"]


def test_typed_dicts() -> None:
    builder = SchemaBuilder()
    assert builder.schema(List[Line]) == {"type": "array", "items": {"$ref": "#/components/schemas/Line"}}
    builder.schema(Patch)
    builder.schema(Mixed)
    assert builder.components["Line"] == {"type": "object", "title": "Line", "properties": {
        "sku": {"type": "string"}, "qty": {"type": "integer"}}, "required": ["sku", "qty"]}
    assert builder.components["Patch"]["required"] == ["age"]
    assert builder.components["Patch"]["properties"] == {"name": {"type": "string"}, "age": {"type": "integer"}}
    assert builder.components["Mixed"]["required"] == ["must"]
    assert builder.components["Mixed"]["properties"]["may"] == {"type": "string"}


def test_classes_of_the_same_name_get_two_components() -> None:
    builder = SchemaBuilder()
    assert builder.schema(User) == {"$ref": "#/components/schemas/User"}
    other = builder.schema(other_models.User)
    assert other == {"$ref": "#/components/schemas/tests.openapi.other_models.User"}
    assert builder.components["tests.openapi.other_models.User"]["properties"] == {"login": {"type": "string"}}
    assert builder.components["User"]["properties"]["name"] == {"type": "string"}
    # Asked again, each class keeps its own name.
    assert builder.schema(User) == {"$ref": "#/components/schemas/User"}
    assert builder.schema(other_models.User) == other


def test_a_class_defined_in_a_function_gets_a_valid_component_name() -> None:
    @dataclass
    class User:  # noqa: F811 - a third class named User, on purpose
        nick: str

    builder = SchemaBuilder()
    builder.schema(other_models.User)
    ref = builder.schema(User)["$ref"]
    name = ref.rsplit("/", 1)[1]
    # ``<locals>`` of the qualified name has characters a component name may not hold.
    assert name == ("tests.openapi.test_schema.test_a_class_defined_in_a_function_gets_a_valid_component_name"
                    "._locals_.User")
    assert builder.components[name]["properties"] == {"nick": {"type": "string"}}


def test_each_schema_is_a_new_copy() -> None:
    """A caller (or a plugin editing the document) changing one schema changes no other."""
    builder = SchemaBuilder()
    first = builder.schema(Dict[str, List[int]])
    first["additionalProperties"]["items"]["type"] = "string"
    assert builder.schema(Dict[str, List[int]]) == {"type": "object", "additionalProperties": {
        "type": "array", "items": {"type": "integer"}}}


def test_unknown_classes_are_any() -> None:
    class Opaque:
        pass

    assert schema_of(Opaque) == ({}, {})
    assert schema_of(typing.Callable[[int], int]) == ({}, {})


@pytest.mark.parametrize(("value", "expected"), [
    (None, (True, None)),
    (3, (True, 3)),
    (1.5, (True, 1.5)),
    (float("nan"), (False, None)),
    (Color.RED, (True, "red")),
    (Parameter("p", default="x"), (True, "x")),
    (datetime.date(2024, 5, 1), (True, "2024-05-01")),
    (uuid.UUID(int=1), (True, "00000000-0000-0000-0000-000000000001")),
    (decimal.Decimal("12.50"), (True, "12.50")),
    ((1, 2), (True, [1, 2])),
    (frozenset({3, 1}), (True, [1, 3])),
    ({"a": [Color.GREEN]}, (True, {"a": ["green"]})),
    (object(), (False, None)),
    ([object()], (False, None)),
])
def test_json_value_of_defaults(value: Any, expected: tuple[bool, Any]) -> None:
    assert json_value(value) == expected


def test_dataclass_field_default_with_no_json_form_is_left_out() -> None:
    sentinel = object()

    @dataclass
    class Holder:
        thing: Any = sentinel

    schema, components = schema_of(Holder)
    name = schema["$ref"].rsplit("/", 1)[1]
    assert components[name]["properties"] == {"thing": {}}
    assert "required" not in components[name]
