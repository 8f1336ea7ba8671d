"""``Query[int]`` is an ``int`` for mypy: a string default is flagged."""
from __future__ import annotations

from naja_atra import Application
from naja_atra.injection.aliases import FromHeader, Query

app = Application()


@app.route("/items")
def items(page: Query[int] = "1", retries: FromHeader[int] = None) -> int:  # expect-error: assignment
    return page
