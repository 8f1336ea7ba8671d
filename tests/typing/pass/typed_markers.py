"""Markers typed by their default: what a controller receives is what mypy sees."""
from __future__ import annotations

from typing import Any, List, Optional

from typing_extensions import Annotated, assert_type

from naja_atra import Application, Cookie, Header, Parameter, Parameters, PathValue

app = Application()

# The call's type is the value the controller receives.
assert_type(Parameter("page", default=1), int)
assert_type(Parameter("ratio", default=0.5), float)
assert_type(Parameter("name", default="x"), str)
assert_type(Parameter(default=True), bool)
assert_type(Parameter("o", default=None), None)
assert_type(Parameter("name"), Parameter)
assert_type(Parameter("name", required=True), Any)
assert_type(Header("X-Count", default=0), int)
assert_type(Header("X-Token"), Header)
assert_type(Parameters("tag", default=[1, 2]), List[int])
assert_type(Parameters("tag"), Parameters)
assert_type(PathValue("id"), Any)
assert_type(Cookie("sid"), Cookie)


@app.route("/items/{item_id}")
def items(
    item_id: int = PathValue("item_id"),
    page: int = Parameter("page", default=1),
    ratio: float = Parameter("ratio", default=0.5),
    name: str = Parameter("name"),
    q: str = Parameter("q", default=""),
    token: str = Parameter("token", required=True),
    limit: int = Parameter("limit", required=True),
    offset: Optional[int] = Parameter("offset", default=None),
    count: int = Header("X-Count", default=0),
    agent: str = Header("User-Agent"),
    tags: List[str] = Parameters("tag"),
    ids: List[int] = Parameters("id", default=[0]),
    sid: Cookie = Cookie("sid"),
    size: Annotated[int, Parameter("page-size")] = 20,
    flag: Annotated[bool, Header("X-Flag")] = False,
) -> dict[str, Any]:
    return {"item_id": item_id, "page": page + 1, "ratio": ratio * 2, "name": name.upper()}


assert_type(items(item_id=1, page=2), dict[str, Any])
