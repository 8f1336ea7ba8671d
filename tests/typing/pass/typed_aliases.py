"""The generic aliases: mypy sees the plain type, so defaults and calls are checked."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from typing_extensions import Literal, TypedDict, assert_type

from naja_atra import Application
from naja_atra.injection.aliases import Body, FromCookie, FromHeader, FromPath, Query

app = Application()


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Address:
    city: str
    zip: int


@dataclass
class User:
    name: str
    address: Address
    tags: List[str] = field(default_factory=list)
    color: Optional[Color] = None


class Item(TypedDict):
    sku: str
    qty: int


@app.route("/search")
def search(
    q: Query[str],
    page: Query[int] = 1,
    ratio: Query[float] = 1.0,
    exact: Query[bool] = False,
    color: Query[Color] = Color.RED,
    mode: Query[Literal["a", "b"]] = "a",
    ids: Query[Optional[List[int]]] = None,
    codes: Query[Tuple[int, ...]] = (),
    offset: Query[Optional[int]] = None,
    x_token: FromHeader[str] = "",
    retries: FromHeader[int] = 0,
    sid: FromCookie[Optional[str]] = None,
) -> dict[str, Any]:
    assert_type(page, int)
    assert_type(ids, Optional[List[int]])
    assert_type(codes, Tuple[int, ...])
    return {"q": q, "page": page, "color": color.value, "mode": mode}


@app.route("/users/{user_id}", method="POST")
def update_user(user_id: FromPath[int], user: Body[User]) -> Dict[str, Any]:
    assert_type(user, User)
    return {"id": user_id + 1, "city": user.address.city}


@app.route("/orders", method="POST")
async def order(items: Body[List[Item]], note: Body[Optional[str]] = None) -> int:
    return sum(item["qty"] for item in items)


@app.route("/plain-body", method="POST")
def plain_body(user: User) -> str:
    return user.name


assert_type(search("x", page=2, color=Color.GREEN), dict[str, Any])
assert_type(update_user(1, User("n", Address("c", 1))), Dict[str, Any])
