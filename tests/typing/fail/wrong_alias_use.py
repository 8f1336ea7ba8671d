"""The value of an alias is its type argument: using it as another type is flagged."""
from __future__ import annotations

from dataclasses import dataclass

from naja_atra import Application
from naja_atra.injection.aliases import Body, FromPath

app = Application()


@dataclass
class User:
    name: str


@app.route("/users/{user_id}", method="POST")
def update(user_id: FromPath[int], user: Body[User]) -> str:
    label = user_id + user.name  # expect-error: operator
    return str(label)
