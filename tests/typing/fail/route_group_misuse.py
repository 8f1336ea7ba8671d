"""A group's decorators keep the controller's type, the shortcuts take ``route``'s keywords
but not ``method=``, and ``include`` takes a group."""
from __future__ import annotations

from naja_atra import Application, PathValue, RouteGroup

group = RouteGroup("/g")


@group.get("/{user_id}")
def show(user_id: str = PathValue()) -> str:
    return user_id


@group.post("/x", method="PUT")  # expect-error: call-arg
def create() -> str:
    return "x"


count: int = show("1")  # expect-error: assignment
group.get("/y", tags=3)  # expect-error: arg-type
group.get("/y", max_body=3)  # expect-error: call-arg
Application().include(Application())  # expect-error: arg-type
RouteGroup(prefix="/p", name=None)  # expect-error: arg-type
