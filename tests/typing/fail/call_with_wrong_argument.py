"""Decorators keep the controller's signature: a wrong argument type is caught."""
from __future__ import annotations

from naja_atra import Application, route

app = Application()


@app.route("/items/{item_id}")
def item(item_id: int, page: int = 1) -> str:
    return f"{item_id}/{page}"


@route
def bare(page: int = 1) -> str:
    return str(page)


item("7")  # expect-error: arg-type
bare(page="2")  # expect-error: arg-type
