"""``Parameter("page")`` without a default gives the marker (a ``str``) when the request
lacks it: it cannot be an ``int``."""
from __future__ import annotations

from naja_atra import Application, Parameter

app = Application()


@app.route("/items")
def items(page: int = Parameter("page")) -> int:  # expect-error: assignment
    return page
