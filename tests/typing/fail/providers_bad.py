"""``Depends(provider)`` has the provider's value type: a wrong annotation, a value used
as something else, or an unknown scope is flagged."""
from __future__ import annotations

from typing import AsyncIterator, Iterator

from naja_atra import Application
from naja_atra.injection.providers import Depends

app = Application()


class Database:
    pass


def open_db() -> Iterator[Database]:
    yield Database()


async def open_db_async() -> AsyncIterator[Database]:
    yield Database()


async def make_db() -> Database:
    return Database()


@app.route("/a")
def a(db: int = Depends(open_db)) -> str:  # expect-error: assignment
    return ""


@app.route("/b")
def b(db: str = Depends(open_db_async)) -> str:  # expect-error: assignment
    return db


@app.route("/d")
def d(db: Database = Depends(make_db)) -> str:
    db.upper()  # expect-error: attr-defined
    return ""


@app.route("/e")
def e(db: Database = Depends(open_db, scope="session")) -> str:  # expect-error: call-overload
    return ""


Depends(42)  # expect-error: call-overload
