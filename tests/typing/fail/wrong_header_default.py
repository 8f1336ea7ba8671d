"""A header typed ``int`` whose marker default is a string."""
from __future__ import annotations

from naja_atra import Application, Header

app = Application()


@app.route("/count")
def count(n: int = Header("X-Count", default="zero")) -> int:  # expect-error: assignment
    return n
