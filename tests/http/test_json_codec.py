"""The built-in JSON codec (``naja_atra.http.json_codec``), how ``finalize`` renders bodies
with a codec, and ``loads_json`` with a codec's ``loads`` behind the depth check."""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from typing import Any, List, Optional

import pytest

from naja_atra.http.finalize import body_bytes
from naja_atra.http.json_body import JsonTooDeep, loads_json
from naja_atra.http.json_codec import DEFAULT_JSON_CODEC, JsonCodec, json_default

UID = uuid.UUID("5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8c")


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 2


@dataclasses.dataclass
class Point:
    x: int
    y: int


@dataclasses.dataclass
class Shape:
    name: str
    points: List[Point]
    color: Color
    made: dt.datetime
    parent: Optional[Shape] = None


def test_the_built_in_codec_writes_the_standard_value_types() -> None:
    value = {
        "datetime": dt.datetime(2024, 5, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "naive": dt.datetime(2024, 5, 1, 10, 30),
        "date": dt.date(2024, 5, 1),
        "time": dt.time(10, 30),
        "uuid": UID,
        "decimal": Decimal("12.50"),
        "enum": Color.RED,
        "int_enum": Level.HIGH,
        "tuple": (1, 2),
        "set": {3},
        "frozenset": frozenset(["a"]),
        "nested": [{"at": dt.date(2000, 1, 1)}],
    }
    assert json.loads(DEFAULT_JSON_CODEC.dumps(value)) == {
        "datetime": "2024-05-01T10:30:00+02:00",
        "naive": "2024-05-01T10:30:00",
        "date": "2024-05-01",
        "time": "10:30:00",
        "uuid": "5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8c",
        "decimal": "12.50",
        "enum": "red",
        "int_enum": 2,
        "tuple": [1, 2],
        "set": [3],
        "frozenset": ["a"],
        "nested": [{"at": "2000-01-01"}],
    }


def test_dataclasses_become_objects_all_the_way_down() -> None:
    inner = Shape("inner", [Point(0, 0)], Color.RED, dt.datetime(2024, 1, 1))
    shape = Shape("outer", [Point(1, 2), Point(3, 4)], Color.RED, dt.datetime(2024, 5, 1), inner)
    assert json.loads(DEFAULT_JSON_CODEC.dumps([shape])) == [{
        "name": "outer", "points": [{"x": 1, "y": 2}, {"x": 3, "y": 4}], "color": "red",
        "made": "2024-05-01T00:00:00",
        "parent": {"name": "inner", "points": [{"x": 0, "y": 0}], "color": "red", "made": "2024-01-01T00:00:00",
                   "parent": None},
    }]


def test_unicode_is_written_as_it_is() -> None:
    assert DEFAULT_JSON_CODEC.dumps({"name": "你好"}) == '{"name": "你好"}'


@pytest.mark.parametrize("value", [object(), Point, b"bytes", 1j])
def test_other_values_are_refused_as_json_dumps_refuses_them(value: Any) -> None:
    with pytest.raises(TypeError, match="is not JSON serializable"):
        DEFAULT_JSON_CODEC.dumps({"value": value})
    with pytest.raises(TypeError):
        json_default(value)


def test_body_bytes_renders_dicts_and_lists_with_the_codec_given() -> None:
    data, content_type = body_bytes({"day": dt.date(2024, 5, 1)})
    assert (data, content_type) == (b'{"day": "2024-05-01"}', "application/json; charset=utf-8")
    upper = JsonCodec(dumps=lambda value: json.dumps(value).upper().encode("utf-8"), loads=json.loads)
    assert body_bytes(["a"], upper) == (b'["A"]', "application/json; charset=utf-8")
    assert body_bytes(b"[1]") == (b"[1]", "application/octet-stream")


def test_loads_json_checks_the_depth_before_the_codec_reads() -> None:
    calls: list[Any] = []

    def loads(data: Any) -> Any:
        calls.append(data)
        return json.loads(data, parse_float=Decimal)

    assert loads_json(b'{"a": 0.1}', 10, loads) == {"a": Decimal("0.1")}
    with pytest.raises(JsonTooDeep):
        loads_json(b"[" * 50 + b"]" * 50, 10, loads)
    assert calls == [b'{"a": 0.1}']  # the too-deep body never reached the codec
