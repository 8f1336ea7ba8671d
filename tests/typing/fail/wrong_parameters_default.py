"""``Parameters`` with a default list of the wrong item type."""
from __future__ import annotations

from typing import List

from naja_atra import Application, Parameters

app = Application()


@app.route("/tags")
def tags(ids: List[int] = Parameters("id", default=["a"])) -> int:  # expect-error: list-item
    return sum(ids)
