"""The examples that ``docs/injection.md`` adds for path values by name, the new types and
the JSON codec run, and answer what the page says.

They are ``<!-- compile -->`` blocks for ``tests/docs/test_injection_docs.py`` (which only
compiles those); each begins with the comment ``# Runs as it stands``, and here each runs
as a fresh module and is checked through its application's test client.
"""
from __future__ import annotations

import contextlib
import sys
import types
from pathlib import Path
from typing import Iterator

from naja_atra import Application

DOC = Path(__file__).resolve().parents[2] / "docs" / "injection.md"
MARK = "# Runs as it stands"


def runnable_blocks() -> dict[str, str]:
    """The marked python blocks of the page, by the first route path each registers."""
    blocks: dict[str, str] = {}
    for chunk in DOC.read_text(encoding="utf-8").split("```python\n")[1:]:
        code = chunk.split("```", 1)[0]
        if code.startswith(MARK):
            first_route = code.split('@app.route("', 1)[1].split('"', 1)[0]
            blocks[first_route] = code
    return blocks


BLOCKS = runnable_blocks()


@contextlib.contextmanager
def example(first_route: str) -> Iterator[Application]:
    name = "docs_injection_" + first_route.strip("/").replace("/", "_").replace("{", "").replace("}", "")
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(BLOCKS[first_route], str(DOC), "exec"), module.__dict__)
        app = module.__dict__["app"]
        assert isinstance(app, Application)
        yield app
    finally:
        sys.modules.pop(name, None)


def test_the_page_has_the_examples() -> None:
    assert sorted(BLOCKS) == ["/agenda", "/price", "/users/{user_id}"]


def test_path_values_by_name() -> None:
    with example("/users/{user_id}") as app, app.test_client() as client:
        assert client.get("/users/42").json() == {"user_id": 42}
        bad = client.get("/users/abc")
        assert bad.status_code == 400
        assert bad.json()["errors"] == [{"name": "user_id", "in": "path", "expected": "int", "received": "abc",
                                         "reason": "not an integer"}]
        org = "5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8c"
        assert client.get(f"/orgs/{org}/members/kim/since/2024-05-01").json() == {
            "org": org, "member": "kim", "day": "2024-05-01"}
        assert client.get("/tags/a?tag=b").json() == {"tag": "a", "other": "b"}


def test_dates_times_uuids_and_decimals() -> None:
    uid = "5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8c"
    with example("/agenda") as app, app.test_client() as client:
        reply = client.get(f"/agenda?day=2024-05-01&at=10:30&ids={uid}",
                           headers={"X-Request-Time": "2024-05-01T10:30:00Z"})
        assert reply.json() == {"day": "2024-05-01", "at": "10:30:00", "since": "2000-01-01", "ids": [uid],
                                "sent": "2024-05-01T10:30:00+00:00"}
        paid = client.post("/payments", json={"id": uid, "amount": "12.50", "at": "2024-05-01T10:30:00Z"})
        assert paid.json() == {"id": uid, "cents": 1250, "utc": True}
        (error,) = client.get("/agenda?day=May").json()["errors"]
        assert (error["expected"], error["reason"]) == ("date", "not a date (ISO 8601: YYYY-MM-DD)")


def test_the_json_codec_example() -> None:
    with example("/price") as app, app.test_client() as client:
        assert client.post("/price", json={"amount": 12.5}).json() == {"price": "12.5 EUR", "exact": True}
