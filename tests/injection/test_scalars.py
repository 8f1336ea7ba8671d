"""Dates, times, UUIDs and decimals as converter targets (``naja_atra.injection.scalars``
through ``naja_atra.injection.convert``): from a string, from JSON, every bad value reported
with the type's name."""
from __future__ import annotations

import datetime as dt
import sys
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, List, Optional

import pytest
from typing_extensions import TypedDict

from naja_atra.injection.convert import ConversionError, json_converter, string_converter, strings_converter, type_label

UTC = dt.timezone.utc
PLUS2 = dt.timezone(dt.timedelta(hours=2))
UID = uuid.UUID("5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8c")


def issue_of(convert: Any, value: Any) -> tuple[str, Any, str]:
    with pytest.raises(ConversionError) as info:
        convert(value)
    (issue,) = info.value.issues
    return issue.expected, issue.received, issue.reason


@pytest.mark.parametrize("tp, text, expected", [
    (dt.date, "2024-05-01", dt.date(2024, 5, 1)),
    (dt.datetime, "2024-05-01T10:30:00", dt.datetime(2024, 5, 1, 10, 30)),
    (dt.datetime, "2024-05-01T10:30:00+02:00", dt.datetime(2024, 5, 1, 10, 30, tzinfo=PLUS2)),
    (dt.datetime, "2024-05-01T10:30:00Z", dt.datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
    (dt.datetime, "2024-05-01 10:30:00.250000", dt.datetime(2024, 5, 1, 10, 30, 0, 250000)),
    (dt.time, "10:30", dt.time(10, 30)),
    (dt.time, "10:30:15+02:00", dt.time(10, 30, 15, tzinfo=PLUS2)),
    (dt.time, "10:30:15Z", dt.time(10, 30, 15, tzinfo=UTC)),
    (uuid.UUID, "5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8c", UID),
    (uuid.UUID, "5A1C0F2E8B3E4F6A9D2B0C4E5F6A7B8C", UID),
    (uuid.UUID, "{5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8c}", UID),
    (uuid.UUID, "urn:uuid:5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8c", UID),
    (Decimal, "12.50", Decimal("12.50")),
    (Decimal, "-3", Decimal("-3")),
    (Decimal, "1e3", Decimal("1e3")),
])
def test_values_convert_from_strings(tp: type, text: str, expected: Any) -> None:
    value = string_converter(tp)(text)
    assert value == expected and type(value) is tp
    if isinstance(expected, (dt.datetime, dt.time)):
        assert value.utcoffset() == expected.utcoffset()  # an offset is kept, not converted away


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the wider ISO 8601 of fromisoformat is Python 3.11's")
@pytest.mark.parametrize("tp, text, expected", [
    (dt.date, "20240501", dt.date(2024, 5, 1)),
    (dt.datetime, "2024-05-01T10:30", dt.datetime(2024, 5, 1, 10, 30)),
    (dt.datetime, "2024-05-01", dt.datetime(2024, 5, 1)),
])
def test_python_3_11_reads_more_of_iso_8601(tp: type, text: str, expected: Any) -> None:
    assert string_converter(tp)(text) == expected


@pytest.mark.parametrize("tp, text, label, reason", [
    (dt.date, "May 1st", "date", "not a date (ISO 8601: YYYY-MM-DD)"),
    (dt.date, "2024-02-30", "date", "not a date (ISO 8601: YYYY-MM-DD)"),
    (dt.date, "2024-05-01T10:00", "date", "not a date (ISO 8601: YYYY-MM-DD)"),
    (dt.date, " 2024-05-01", "date", "not a date (ISO 8601: YYYY-MM-DD)"),
    (dt.datetime, "yesterday", "datetime", "not a datetime"),
    (dt.datetime, "2024-05-01T25:00", "datetime", "not a datetime"),
    (dt.time, "noon", "time", "not a time"),
    (dt.time, "24:00", "time", "not a time"),
    (uuid.UUID, "not-a-uuid", "uuid", "not a UUID"),
    (uuid.UUID, "5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8", "uuid", "not a UUID"),  # one digit short
    (uuid.UUID, "5a1c0f2e8b3e-4f6a-9d2b-0c4e5f6a7b8c", "uuid", "not a UUID"),  # hyphens half-way
    (uuid.UUID, "5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a_b8c", "uuid", "not a UUID"),  # int(..., 16) would take it
    (uuid.UUID, "{5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8c", "uuid", "not a UUID"),
    (Decimal, "twelve", "decimal", "not a decimal number"),
    (Decimal, "NaN", "decimal", "not a decimal number"),
    (Decimal, "-Infinity", "decimal", "not a decimal number"),
    (Decimal, "sNaN", "decimal", "not a decimal number"),
    (Decimal, "1_000", "decimal", "not a decimal number"),
    (Decimal, " 12", "decimal", "not a decimal number"),
    (Decimal, "", "decimal", "not a decimal number"),
])
def test_bad_strings_are_reported_with_the_type_name(tp: type, text: str, label: str, reason: str) -> None:
    expected, received, why = issue_of(string_converter(tp), text)
    assert (expected, received) == (label, text)
    assert why.startswith(reason)


def test_labels_name_the_types_as_a_client_reads_them() -> None:
    assert [type_label(t) for t in (dt.date, dt.datetime, dt.time, uuid.UUID, Decimal)] == [
        "date", "datetime", "time", "uuid", "decimal"]
    assert type_label(Optional[dt.date]) == "date | None"
    assert type_label(List[uuid.UUID]) == "list[uuid]"


def test_optional_lists_and_unions_of_them() -> None:
    assert string_converter(Optional[dt.date])("") is None
    assert string_converter(Optional[dt.date])("2024-05-01") == dt.date(2024, 5, 1)
    days = strings_converter(List[dt.date])
    assert days(["2024-05-01", "2024-05-02"]) == [dt.date(2024, 5, 1), dt.date(2024, 5, 2)]
    with pytest.raises(ConversionError) as info:
        days(["2024-05-01", "x", "2024-13-01"])
    assert [(i.path, i.expected) for i in info.value.issues] == [("[1]", "date"), ("[2]", "date")]


# -- JSON ---------------------------------------------------------------------------------


@dataclass
class Payment:
    id: uuid.UUID
    amount: Decimal
    at: dt.datetime
    day: Optional[dt.date] = None


class Slot(TypedDict):
    start: dt.time
    ids: List[uuid.UUID]


def test_json_strings_convert_inside_dataclasses_and_typeddicts() -> None:
    payment = json_converter(Payment)({"id": str(UID), "amount": "12.50", "at": "2024-05-01T10:30:00+02:00"})
    assert payment == Payment(UID, Decimal("12.50"), dt.datetime(2024, 5, 1, 10, 30, tzinfo=PLUS2))
    slot = json_converter(Slot)({"start": "09:00", "ids": [str(UID)]})
    assert slot == {"start": dt.time(9), "ids": [UID]}


def test_a_decimal_also_reads_a_json_number_by_its_shortest_text() -> None:
    convert = json_converter(Decimal)
    assert convert(0.1) == Decimal("0.1")
    assert convert(12) == Decimal(12)
    assert issue_of(convert, True)[0] == "decimal"


def test_every_bad_json_field_is_listed_with_the_type_name() -> None:
    with pytest.raises(ConversionError) as info:
        json_converter(Payment)({"id": "nope", "amount": "NaN", "at": 1714559400, "day": "01/05/2024"})
    found = {i.path: (i.expected, i.received) for i in info.value.issues}
    assert found == {"id": ("uuid", "nope"), "amount": ("decimal", "NaN"), "at": ("datetime", 1714559400),
                     "day": ("date | None", "01/05/2024")}
    reasons = {i.path: i.reason for i in info.value.issues}
    assert reasons["at"].startswith("expected a string")


def test_a_date_from_json_must_be_a_string() -> None:
    assert issue_of(json_converter(dt.date), 20240501)[:2] == ("date", 20240501)
    assert issue_of(json_converter(uuid.UUID), None)[0] == "uuid"
