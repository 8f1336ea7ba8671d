"""A marker default of the wrong type for a date: the default must be a ``date`` itself."""
from __future__ import annotations

import datetime as dt

from naja_atra import Application, Parameter

app = Application()


@app.route("/events")
def events(since: dt.date = Parameter("since", default="2000-01-01")) -> dt.date:  # expect-error: assignment
    return since
