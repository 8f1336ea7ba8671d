"""Dates, UUIDs and decimals as typed arguments, path values by name, and a JSON codec
plugin: mypy --strict accepts them as written."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any, Callable, List, Optional

from typing_extensions import assert_type

from naja_atra import Application, Parameter, hookimpl
from naja_atra.http.json_codec import DEFAULT_JSON_CODEC, JsonCodec, json_default
from naja_atra.injection.aliases import FromHeader, Query
from naja_atra.injection.source import ArgumentSource, describe, source_of

app = Application()


@app.route("/users/{user_id}/since/{day}")
def user(user_id: int, day: dt.date, ids: Query[List[uuid.UUID]], at: Optional[dt.time] = None,
         since: dt.date = Parameter("since", default=dt.date(2000, 1, 1)),
         amount: FromHeader[Decimal] = Decimal("0")) -> dict[str, Any]:
    assert_type(since, dt.date)
    assert_type(ids, List[uuid.UUID])
    return {"user_id": user_id, "day": day, "at": at, "since": since, "ids": ids, "amount": amount}


def default(value: Any) -> Any:
    return str(value) if isinstance(value, complex) else json_default(value)


class Codec:
    @hookimpl
    def naja_atra_json_codec(self, app: Application) -> Optional[JsonCodec]:
        return JsonCodec(dumps=lambda value: json.dumps(value, default=default), loads=json.loads)


app.register(Codec())
text = DEFAULT_JSON_CODEC.dumps({"day": dt.date(2024, 5, 1)})


def resolver(ctx: Any) -> int:
    return 1


described: Callable[[Any], int] = describe(resolver, ArgumentSource("query", "n", int, False, 1))
found = source_of(described)
assert_type(found, Optional[ArgumentSource])
