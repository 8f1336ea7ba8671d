"""``url_for`` is typed: it takes the route's name first, by position, and returns a ``str``."""
from __future__ import annotations

from naja_atra import Application, url_for

app = Application()

path: int = app.url_for("show", user_id=1)  # expect-error: assignment
app.url_for()  # expect-error: call-arg
app.url_for(3)  # expect-error: arg-type
app.url_for(name="show")  # expect-error: call-arg
url_for(None)  # expect-error: arg-type
