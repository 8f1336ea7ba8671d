"""A marker default of the wrong type: ``page`` is an ``int``, the default a ``str``."""
from __future__ import annotations

from naja_atra import Application, Parameter

app = Application()


@app.route("/items")
def items(page: int = Parameter("page", default="1")) -> int:  # expect-error: assignment
    return page
