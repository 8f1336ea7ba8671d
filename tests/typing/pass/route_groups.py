"""Route groups, the method shortcuts and ``url_for``, typed: every decorator of a group
keeps what it decorates, as the application's do, and ``url_for`` returns a ``str``."""
from __future__ import annotations

from typing import Callable

from typing_extensions import assert_type

from naja_atra import (
    Application,
    FilterContext,
    PathValue,
    RouteGroup,
    WebsocketHandler,
    WebsocketSession,
    delete,
    get,
    include,
    url_for,
)

users = RouteGroup("/users", name="users", tags=["users"])
admin = RouteGroup("/admin", include_in_schema=False)


@users.get("/{user_id}", name="show", tags="read")
def show(user_id: str = PathValue()) -> dict[str, str]:
    return {"id": user_id}


@users.route("/things", tags=["things"])
class Things:
    @users.post("/new", max_body_size=1024)
    async def create(self, name: str) -> int:
        return len(name)

    @users.put("/{thing_id}", headers="X-Edit", params=["a=b"])
    def replace(self, thing_id: str = PathValue()) -> str:
        return thing_id


@users.controller(singleton=False)
class Plain:
    @users.patch("/plain")
    def touch(self) -> bool:
        return True


@users.request_filter()
def stamp(ctx: FilterContext) -> None:
    ctx.do_chain()


@users.error_message("404")
def missing(message: str) -> str:
    return message


@users.websocket_handler("/ws")
class Echo(WebsocketHandler):
    def on_text_message(self, session: WebsocketSession, message: str) -> None:
        session.send(message)


@admin.delete("/cache")
def clear() -> None:
    return None


@get("/facade")
def facade() -> str:
    return "facade"


@delete("/facade")
def facade_delete() -> None:
    return None


users.include(admin, prefix="/ops", tags=("ops",), name="ops")
app = Application()
app.include(users, prefix="/v1")
include(users, prefix="/default")


# The decorated objects are unchanged for the type checker (this module is only type-checked:
# importing it would register on ``naja_atra.default_app``).
async def _checks() -> None:
    assert_type(show("1"), dict[str, str])
    assert_type(await Things().create("x"), int)
    assert_type(Things().replace("1"), str)
    assert_type(Plain(), Plain)
    assert_type(Echo(), Echo)
    still_a_filter: Callable[[FilterContext], None] = stamp
    assert_type(still_a_filter, Callable[[FilterContext], None])
    assert_type(missing("gone"), str)
    assert_type(clear(), None)
    assert_type(facade(), str)
    assert_type(app.url_for("users.show", user_id=1, page=[1, 2]), str)
    assert_type(url_for("facade"), str)
