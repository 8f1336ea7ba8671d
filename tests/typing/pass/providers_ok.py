"""``Depends(provider)`` is typed as the value the provider makes, whatever its kind."""
from __future__ import annotations

from typing import AsyncGenerator, AsyncIterator, Generator, Iterator

from typing_extensions import Annotated, assert_type

from naja_atra import Application, Header
from naja_atra.injection.aliases import Query
from naja_atra.injection.providers import Depends

app = Application()


class Database:
    def names(self) -> list[str]:
        return []


class Cache:
    pass


def make_db() -> Database:
    return Database()


async def make_db_async() -> Database:
    return Database()


def open_db(dsn: Query[str] = "sqlite://") -> Iterator[Database]:
    yield Database()


def open_db_gen(token: Header = Header("X-Token")) -> Generator[Database, None, None]:
    yield Database()


async def open_db_async() -> AsyncIterator[Database]:
    yield Database()


async def open_db_agen(db: Database = Depends(open_db)) -> AsyncGenerator[Database, None]:
    yield db


def make_cache(db: Annotated[Database, Depends(make_db, scope="app")]) -> Cache:
    return Cache()


assert_type(Depends(make_db), Database)
assert_type(Depends(make_db_async), Database)
assert_type(Depends(open_db), Database)
assert_type(Depends(open_db_gen), Database)
assert_type(Depends(open_db_async), Database)
assert_type(Depends(open_db_agen), Database)
assert_type(Depends(Database), Database)
assert_type(Depends(make_cache, scope="transient"), Cache)
assert_type(Depends(open_db, "app"), Database)


@app.route("/users")
def users(db: Database = Depends(open_db), cache: Cache = Depends(make_cache, scope="app")) -> list[str]:
    return db.names()


@app.route("/users-async")
async def users_async(db: Annotated[Database, Depends(open_db_async)],
                      other: Database = Depends(make_db_async, scope="transient")) -> list[str]:
    return db.names() + other.names()
