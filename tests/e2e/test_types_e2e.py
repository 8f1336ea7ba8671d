"""Dates, times, UUIDs and decimals end to end on both built-in servers: as query (and
list), path, header, cookie, form-field and JSON-body arguments, typed by a plain default,
and as results; every bad one is a typed 400 entry naming the type. Then an application's
own JSON codec (``naja_atra_json_codec``), rendering its own class and reading bodies with
its own ``loads``."""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from typing import Any, Iterator, List, Optional
from urllib.parse import urlencode

import pytest
from typing_extensions import TypedDict

from naja_atra import Application, Headers, JSONBody, hookimpl
from naja_atra.http.json_codec import JsonCodec, json_default
from naja_atra.injection.aliases import Body, FromCookie, FromHeader, Query

from ..support import DRIVERS, Client, Reply, serving

UID = "5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8c"
OTHER = "00000000-0000-0000-0000-0000000000ff"
DAY, MOMENT, TIME, AMOUNT = "2024-05-01", "2024-05-01T10:30:00+02:00", "10:30:00", "12.50"
VALUES = {"day": DAY, "at": MOMENT, "time": TIME, "id": UID, "amount": AMOUNT}
#: One bad value of each type, and the name its 400 entry gives the type.
BAD = {"day": ("2024-02-30", "date"), "at": ("soon", "datetime"), "time": ("25:00", "time"),
       "id": ("nope", "uuid"), "amount": ("NaN", "decimal")}


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Event:
    id: uuid.UUID
    day: dt.date
    at: dt.datetime
    time: dt.time
    amount: Decimal
    tags: List[dt.date] = dataclasses.field(default_factory=list)


class Slot(TypedDict):
    time: dt.time
    id: uuid.UUID


def described(day: dt.date, at: dt.datetime, time: dt.time, id: uuid.UUID, amount: Decimal) -> dict[str, Any]:
    """What each route answers: the values, with their types' names (results render them as JSON)."""
    values = {"day": day, "at": at, "time": time, "id": id, "amount": amount}
    return {"values": values, "types": {k: type(v).__name__ for k, v in values.items()},
            "aware": at.tzinfo is not None}


def types_app() -> Application:
    app = Application(load_entry_points=False)

    @app.route("/query", method=["GET", "POST"])
    def query(day: dt.date, at: dt.datetime, time: dt.time, id: uuid.UUID, amount: Decimal) -> dict[str, Any]:
        return described(day, at, time, id, amount)

    @app.route("/lists")
    def lists(days: Query[List[dt.date]], ids: Query[Optional[List[uuid.UUID]]] = None,
              amounts: Query[Optional[List[Decimal]]] = None) -> dict[str, Any]:
        return {"days": days, "ids": ids, "amounts": amounts}

    @app.route("/path/{day}/{at}/{time}/{id}/{amount}")
    def path(day: dt.date, at: dt.datetime, time: dt.time, id: uuid.UUID, amount: Decimal) -> dict[str, Any]:
        return described(day, at, time, id, amount)

    @app.route("/headers")
    def headers(x_day: FromHeader[dt.date], x_at: FromHeader[dt.datetime], x_time: FromHeader[dt.time],
                x_id: FromHeader[uuid.UUID], x_amount: FromHeader[Decimal]) -> dict[str, Any]:
        return described(x_day, x_at, x_time, x_id, x_amount)

    @app.route("/cookies")
    def cookies(day: FromCookie[dt.date], at: FromCookie[dt.datetime], time: FromCookie[dt.time],
                id: FromCookie[uuid.UUID], amount: FromCookie[Decimal]) -> dict[str, Any]:
        return described(day, at, time, id, amount)

    @app.route("/body", method="POST")
    def body(event: Event) -> dict[str, Any]:
        result = described(event.day, event.at, event.time, event.id, event.amount)
        result["tags"] = event.tags
        return result

    @app.route("/slots", method="POST")
    def slots(items: Body[List[Slot]]) -> list[Any]:
        return [[slot["time"], slot["id"]] for slot in items]

    @app.route("/defaults")
    def defaults(since=dt.date(2000, 1, 1), at=dt.datetime(2000, 1, 1), time=dt.time(9), id=uuid.UUID(int=0),
                 amount=Decimal("0"), color=Color.RED) -> dict[str, Any]:
        return {"since": since, "at": at, "time": time, "id": id, "amount": amount, "color": color,
                "types": [type(v).__name__ for v in (since, at, time, id, amount, color)]}

    @app.route("/result/dict")
    def result_dict() -> dict[str, Any]:
        return {"event": sample_event(), "pair": (dt.date(2024, 5, 1), uuid.UUID(UID)), "set": {Decimal("1.5")},
                "color": Color.RED, "nested": [{"at": dt.time(8, 15)}]}

    @app.route("/result/dataclass")
    def result_dataclass() -> Event:
        return sample_event()

    @app.route("/result/list")
    def result_list() -> list[Event]:
        return [sample_event(), sample_event()]

    @app.route("/result/tuple")
    def result_tuple() -> Any:
        return 201, Headers({"X-Kind": "tuple"}), {"day": dt.date(2024, 5, 1)}

    @app.route("/result/object")
    def result_object() -> Any:
        return object()

    return app


def sample_event() -> Event:
    return Event(uuid.UUID(UID), dt.date(2024, 5, 1), dt.datetime(2024, 5, 1, 10, 30, tzinfo=dt.timezone.utc),
                 dt.time(10, 30), Decimal("12.50"), [dt.date(2024, 1, 1)])


@pytest.fixture(scope="module", params=DRIVERS)
def client(request: pytest.FixtureRequest) -> Iterator[Client]:
    with serving(types_app(), request.param) as running:
        yield running


EXPECTED = {"values": {"day": DAY, "at": MOMENT, "time": TIME, "id": UID, "amount": AMOUNT},
            "types": {"day": "date", "at": "datetime", "time": "time", "id": "UUID", "amount": "Decimal"},
            "aware": True}


def errors_of(reply: Reply) -> list[dict[str, Any]]:
    assert reply.status == 400, reply.body
    errors: list[dict[str, Any]] = reply.json()["errors"]
    return errors


def expected_errors(location: str, prefix: str = "") -> list[dict[str, Any]]:
    return [{"name": prefix + name, "in": location, "expected": label, "received": value}
            for name, (value, label) in BAD.items()]


def without_reasons(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "reason"} for e in errors]


# -- arguments -------------------------------------------------------------------------


def test_query_parameters(client: Client) -> None:
    assert client.get("/query?" + urlencode(VALUES)).json() == EXPECTED
    assert without_reasons(errors_of(client.get("/query?" + urlencode({k: v for k, (v, _) in BAD.items()})))) == \
        expected_errors("query")


def test_lists_of_query_parameters(client: Client) -> None:
    reply = client.get("/lists?" + urlencode([("days", DAY), ("days", "2024-05-02"), ("ids", UID), ("ids", OTHER),
                                              ("amounts", "1"), ("amounts", "2.5")]))
    assert reply.json() == {"days": [DAY, "2024-05-02"], "ids": [UID, OTHER], "amounts": ["1", "2.5"]}
    assert client.get("/lists?days=2024-05-01").json() == {"days": [DAY], "ids": None, "amounts": None}
    errors = errors_of(client.get("/lists?days=2024-05-01&days=tomorrow&ids=x"))
    assert [(e["name"], e["expected"]) for e in errors] == [("days[1]", "date"), ("ids[0]", "uuid")]


def test_path_values(client: Client) -> None:
    assert client.get("/path/{day}/{at}/{time}/{id}/{amount}".format(**VALUES).replace("+", "%2B")).json() == EXPECTED
    bad = "/path/{day}/{at}/{time}/{id}/{amount}".format(**{k: v for k, (v, _) in BAD.items()})
    assert without_reasons(errors_of(client.get(bad))) == expected_errors("path")


def test_headers(client: Client) -> None:
    headers = {f"X-{name.capitalize()}": value for name, value in VALUES.items()}
    assert client.get("/headers", headers=headers).json() == EXPECTED
    bad = {f"X-{name.capitalize()}": value for name, (value, _) in BAD.items()}
    assert without_reasons(errors_of(client.get("/headers", headers=bad))) == expected_errors("header", "x_")


def test_cookies(client: Client) -> None:
    cookie = "; ".join(f"{name}={value}" for name, value in VALUES.items())
    assert client.get("/cookies", headers={"Cookie": cookie}).json() == EXPECTED
    bad = "; ".join(f"{name}={value}" for name, (value, _) in BAD.items())
    assert without_reasons(errors_of(client.get("/cookies", headers={"Cookie": bad}))) == expected_errors("cookie")


def test_form_fields(client: Client) -> None:
    assert client.post_form("/query", VALUES).json() == EXPECTED
    bad = client.post_form("/query", {k: v for k, (v, _) in BAD.items()})
    assert without_reasons(errors_of(bad)) == expected_errors("form")


def test_json_body_fields(client: Client) -> None:
    event = dict(VALUES, tags=["2024-01-01"])
    assert client.post_json("/body", event).json() == dict(EXPECTED, tags=["2024-01-01"])
    number = client.post_json("/body", dict(VALUES, amount=12.5)).json()
    assert number["values"]["amount"] == "12.5"  # a JSON number is a Decimal too
    bad = {k: v for k, (v, _) in BAD.items()}
    bad["tags"] = ["2024-01-01", 20240102]
    errors = errors_of(client.post_json("/body", bad))  # in the order of the dataclass's fields
    by_name = sorted(without_reasons(errors), key=lambda e: str(e["name"]))
    assert by_name == sorted(expected_errors("body") + [
        {"name": "tags[1]", "in": "body", "expected": "date", "received": 20240102}], key=lambda e: str(e["name"]))


def test_json_body_of_typeddicts(client: Client) -> None:
    assert client.post_json("/slots", [{"time": "09:00", "id": UID}]).json() == [["09:00:00", UID]]
    errors = errors_of(client.post_json("/slots", [{"time": "09:00", "id": UID}, {"time": 9, "id": "x"}]))
    assert [(e["name"], e["expected"]) for e in errors] == [("[1].time", "time"), ("[1].id", "uuid")]


def test_a_plain_default_types_its_parameter(client: Client) -> None:
    assert client.get("/defaults").json() == {
        "since": "2000-01-01", "at": "2000-01-01T00:00:00", "time": "09:00:00", "id": str(uuid.UUID(int=0)),
        "amount": "0", "color": "red", "types": ["date", "datetime", "time", "UUID", "Decimal", "Color"]}
    query = urlencode({"since": DAY, "at": MOMENT, "time": TIME, "id": UID, "amount": AMOUNT, "color": "RED"})
    reply = client.get("/defaults?" + query).json()
    assert (reply["since"], reply["at"], reply["id"], reply["amount"]) == (DAY, MOMENT, UID, AMOUNT)
    errors = errors_of(client.get("/defaults?since=2024-13-01&color=blue"))
    assert [(e["name"], e["in"], e["expected"]) for e in errors] == [("since", "query", "date"),
                                                                      ("color", "query", "Color")]


# -- results ---------------------------------------------------------------------------

EVENT_JSON = {"id": UID, "day": "2024-05-01", "at": "2024-05-01T10:30:00+00:00", "time": "10:30:00",
              "amount": "12.50", "tags": ["2024-01-01"]}


def test_results_holding_the_types_are_json(client: Client) -> None:
    reply = client.get("/result/dict")
    assert reply.header("Content-Type") == "application/json; charset=utf-8"
    assert reply.json() == {"event": EVENT_JSON, "pair": ["2024-05-01", UID], "set": ["1.5"], "color": "red",
                            "nested": [{"at": "08:15:00"}]}


def test_a_dataclass_and_a_list_of_them_are_json(client: Client) -> None:
    reply = client.get("/result/dataclass")
    assert reply.header("Content-Type") == "application/json; charset=utf-8"
    assert reply.json() == EVENT_JSON
    assert client.get("/result/list").json() == [EVENT_JSON, EVENT_JSON]


def test_a_tuple_result_keeps_its_meaning(client: Client) -> None:
    reply = client.get("/result/tuple")
    assert (reply.status, reply.header("X-Kind"), reply.json()) == (201, "tuple", {"day": "2024-05-01"})


def test_an_object_of_another_class_is_still_refused(client: Client) -> None:
    assert client.get("/result/object").status == 500


# -- an application's own codec --------------------------------------------------------


class Money:
    def __init__(self, amount: Decimal, currency: str) -> None:
        self.amount, self.currency = amount, currency


@dataclasses.dataclass
class Order:
    amount: Decimal
    weight: float
    day: dt.date


class MoneyCodec:
    """Renders ``Money`` as text, reads JSON numbers as ``Decimal``; counts its calls."""

    def __init__(self) -> None:
        self.loads_calls = 0

    def default(self, value: Any) -> Any:
        if isinstance(value, Money):
            return f"{value.amount} {value.currency}"
        return json_default(value)

    def loads(self, data: Any) -> Any:
        self.loads_calls += 1
        return json.loads(data, parse_float=Decimal)

    @hookimpl
    def naja_atra_json_codec(self, app: Application) -> JsonCodec:
        return JsonCodec(dumps=lambda value: json.dumps(value, default=self.default).encode("utf-8"),
                         loads=self.loads)


def codec_app(codec: MoneyCodec) -> Application:
    app = Application(load_entry_points=False)
    app.register(codec, name="money-codec")

    @app.route("/price", method="POST")
    def price(body: JSONBody) -> dict[str, Any]:
        amount = body["amount"]
        return {"price": Money(amount, "EUR"), "decimal": isinstance(amount, Decimal), "day": dt.date(2024, 5, 1)}

    @app.route("/order", method="POST")
    def order(order: Order) -> Order:
        return order

    @app.route("/prices")
    def prices() -> Any:
        return 202, [Money(Decimal("1.5"), "EUR")]

    @app.route("/broken")
    def broken() -> dict[str, Any]:
        return {"no": object()}

    return app


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_plugin_codec_renders_its_class_and_reads_bodies(driver: str) -> None:
    codec = MoneyCodec()
    with serving(codec_app(codec), driver) as client:
        reply = client.post_json("/price", {"amount": 12.5})
        assert reply.header("Content-Type") == "application/json; charset=utf-8"
        assert reply.json() == {"price": "12.5 EUR", "decimal": True, "day": "2024-05-01"}
        assert client.post_json("/order", {"amount": 0.1, "weight": 2.5, "day": DAY}).json() == {
            "amount": "0.1", "weight": 2.5, "day": DAY}
        tuple_reply = client.get("/prices")
        assert (tuple_reply.status, tuple_reply.json()) == (202, ["1.5 EUR"])
        assert client.get("/broken").status == 500
        bad = client.post("/price", b'{"amount": ', content_type="application/json")
        assert errors_of(bad)[0]["in"] == "body"
        too_deep = client.post("/price", b"[" * 200 + b"]" * 200, content_type="application/json")
        assert errors_of(too_deep)[0]["reason"].startswith("not valid JSON")
        assert codec.loads_calls == 3  # the body nested too deeply never reached the codec
