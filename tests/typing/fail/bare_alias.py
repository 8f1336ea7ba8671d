"""An alias needs its type argument (``Query[int]``, not ``Query``)."""
from __future__ import annotations

from naja_atra import Application
from naja_atra.injection.aliases import Body, Query

app = Application()


@app.route("/items")
def items(page: Query = 1) -> int:  # expect-error: type-arg
    return int(page)


@app.route("/body", method="POST")
def body(data: Body[int, str]) -> int:  # expect-error: type-arg
    return 0
