"""Path values by name, end to end on both built-in servers: a parameter named like a
``{value}`` of its route's path takes that value, converted by its annotation, and a bad one
is listed in the typed 400 with every other bad argument. Markers that name a value the
path lacks, and parameters that cannot hold a path value, fail the build."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any, Iterator, List, Optional

import pytest
import websocket
from typing_extensions import Annotated

from naja_atra import Application, ConfigurationError, Depends, Parameter, PathValue, Request, WebsocketSession
from naja_atra.injection.aliases import FromPath, Query

from ..support import DRIVERS, Client, Reply, serving

ORG = "5a1c0f2e-8b3e-4f6a-9d2b-0c4e5f6a7b8c"


def current_user(user_id: int) -> str:
    """A provider's parameter is read by name from the route's path too."""
    return f"user-{user_id}"


def path_app() -> Application:
    app = Application(load_entry_points=False)

    @app.route("/users/{user_id}")
    def user(user_id: int, verbose: bool = False) -> dict[str, Any]:
        return {"user_id": user_id, "verbose": verbose}

    @app.route("/orgs/{org}")
    class Members:
        @app.route("/members/{member}")
        def member(self, org: uuid.UUID, member: str, page: int = 1) -> dict[str, Any]:
            return {"org": str(org), "member": member, "page": page}

    @app.route("/annotated/{n}/{when}")
    def annotated(n: Annotated[int, "a note, not a marker"], when: Optional[dt.datetime] = None) -> dict[str, Any]:
        assert when is not None
        return {"n": n, "when": when.isoformat(), "aware": when.tzinfo is not None}

    @app.route("/defaults/{count}/{day}/{label}")
    def defaults(count=0, day=dt.date(2000, 1, 1), label="none") -> dict[str, Any]:
        return {"count": count, "day": day.isoformat(), "label": label}

    @app.route("/bare/{name}")
    def bare(name) -> str:  # type: ignore[no-untyped-def]  # deliberately unannotated
        return f"name={name}"

    @app.route("/tags/{tag}")
    def tagged(tag: str, other: str = Parameter("tag", default="none"), q: Query[Optional[str]] = None,
               request: Request = Request()) -> dict[str, Any]:
        return {"tag": tag, "other": other, "q": q, "path": request.path_values}

    @app.route("/me/{user_id}")
    def me(user: str = Depends(current_user)) -> str:
        return user

    @app.route("/async/{n}")
    async def later(n: int) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"n": n * 2}

    @app.route("/files/{bucket}/**")
    def files(bucket: str, rest: str = PathValue("rest")) -> dict[str, Any]:
        return {"bucket": bucket, "rest": rest}  # PathValue falls back to the wildcard's capture

    @app.websocket_handshake("/rooms/{room}")
    def knock(room: int) -> Any:
        return 0 if room < 100 else (403, {})

    @app.websocket_message("/rooms/{room}")
    def say(session: WebsocketSession, message: str) -> None:
        session.send(f"{session.request.path_values['room']}:{message}")

    return app


@pytest.fixture(scope="module", params=DRIVERS)
def client(request: pytest.FixtureRequest) -> Iterator[Client]:
    with serving(path_app(), request.param) as running:
        yield running


def errors_of(reply: Reply) -> list[dict[str, Any]]:
    assert reply.status == 400, reply.body
    errors: list[dict[str, Any]] = reply.json()["errors"]
    return errors


def test_a_function_parameter_takes_the_value_of_its_name(client: Client) -> None:
    assert client.get("/users/42?verbose=yes").json() == {"user_id": 42, "verbose": True}


def test_a_bad_path_value_is_listed_with_every_other_bad_argument(client: Client) -> None:
    assert errors_of(client.get("/users/abc?verbose=perhaps")) == [
        {"name": "user_id", "in": "path", "expected": "int", "received": "abc", "reason": "not an integer"},
        {"name": "verbose", "in": "query", "expected": "bool", "received": "perhaps",
         "reason": "not a boolean (use true/false, 1/0, yes/no or on/off)"},
    ]


def test_a_method_of_a_class_reads_the_values_of_its_prefix_too(client: Client) -> None:
    assert client.get(f"/orgs/{ORG}/members/kim?page=2").json() == {"org": ORG, "member": "kim", "page": 2}
    assert [(e["name"], e["in"], e["expected"]) for e in errors_of(client.get("/orgs/acme/members/kim?page=x"))] == [
        ("org", "path", "uuid"), ("page", "query", "int")]


def test_annotated_and_optional_annotations(client: Client) -> None:
    assert client.get("/annotated/7/2024-05-01T10:30:00Z").json() == {
        "n": 7, "when": "2024-05-01T10:30:00+00:00", "aware": True}
    assert [(e["name"], e["expected"]) for e in errors_of(client.get("/annotated/x/soon"))] == [
        ("n", "int"), ("when", "datetime | None")]


def test_the_type_of_a_default_converts_an_unannotated_value(client: Client) -> None:
    assert client.get("/defaults/3/2024-05-01/x").json() == {"count": 3, "day": "2024-05-01", "label": "x"}
    assert [(e["name"], e["in"], e["expected"]) for e in errors_of(client.get("/defaults/three/May/x"))] == [
        ("count", "path", "int"), ("day", "path", "date")]


def test_a_bare_name_is_the_value_as_a_string(client: Client) -> None:
    assert client.get("/bare/a%20b").text == "name=a b"


def test_markers_and_framework_types_keep_their_meaning(client: Client) -> None:
    assert client.get("/tags/a?tag=b&q=c").json() == {"tag": "a", "other": "b", "q": "c", "path": {"tag": "a"}}
    assert client.get("/tags/a").json() == {"tag": "a", "other": "none", "q": None, "path": {"tag": "a"}}


def test_providers_and_async_controllers(client: Client) -> None:
    assert client.get("/me/5").text == "user-5"
    assert errors_of(client.get("/me/five"))[0]["name"] == "user_id"
    assert client.get("/async/21").json() == {"n": 42}
    assert errors_of(client.get("/async/x"))[0] == {
        "name": "n", "in": "path", "expected": "int", "received": "x", "reason": "not an integer"}


def test_a_wildcard_route(client: Client) -> None:
    assert client.get("/files/photos/2024/a.jpg").json() == {"bucket": "photos", "rest": "2024/a.jpg"}


def test_a_websocket_handshake_reads_the_value_by_name(client: Client) -> None:
    ws = websocket.create_connection(f"{client.ws_url}/rooms/7", timeout=5)
    try:
        ws.send("hi")
        assert ws.recv() == "7:hi"
    finally:
        ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{client.ws_url}/rooms/100", timeout=5)
    assert refused.value.status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException) as bad:
        websocket.create_connection(f"{client.ws_url}/rooms/lobby", timeout=5)
    assert bad.value.status_code == 400


# -- the build refuses what cannot work ----------------------------------------------------


def build_error(app: Application) -> str:
    with pytest.raises(ConfigurationError) as info:
        app.build()
    return str(info.value)


def test_a_path_value_marker_the_path_does_not_have() -> None:
    app = Application(load_entry_points=False)

    @app.route("/users/{user_id}")
    def show(uid: int = PathValue("uid")) -> str:
        return str(uid)

    message = build_error(app)
    assert message == (f"Controller {show.__module__}.{show.__qualname__}: parameter 'uid' reads the path value "
                       "'uid', which the route's path '/users/{user_id}' does not have (its values: user_id)")


def method_under_prefix(app: Application) -> Any:
    @app.route("/orgs/{org}")
    class Teams:
        @app.route("/teams/{team}")
        def team(self, team_id: Annotated[int, PathValue("team_id")]) -> str:
            return str(team_id)
    return Teams.team


def alias_of_a_missing_value(app: Application) -> Any:
    @app.route("/items/{item}")
    def item(item_id: FromPath[int]) -> str:
        return str(item_id)
    return item


def annotation_of_a_missing_value(app: Application) -> Any:
    @app.route("/items/{item}")
    def item(item_id: PathValue) -> str:
        return str(item_id)
    return item


def provider_of_a_missing_value(app: Application) -> Any:
    def load(item_id: int = PathValue("item_id")) -> int:
        return item_id

    @app.route("/items/{item}")
    def item(value: int = Depends(load)) -> str:
        return str(value)
    return item


@pytest.mark.parametrize("register, parameter, value, path, values", [
    (method_under_prefix, "team_id", "team_id", "/orgs/{org}/teams/{team}", "org, team"),
    (alias_of_a_missing_value, "item_id", "item_id", "/items/{item}", "item"),
    (annotation_of_a_missing_value, "item_id", "item_id", "/items/{item}", "item"),
    (provider_of_a_missing_value, "item_id", "item_id", "/items/{item}", "item"),
])
def test_every_form_of_path_value_marker_is_checked(register: Any, parameter: str, value: str, path: str,
                                                     values: str) -> None:
    app = Application(load_entry_points=False)
    controller = register(app)
    message = build_error(app)
    assert message.startswith(f"Controller {controller.__module__}.{controller.__qualname__}: ")
    assert (f"parameter {parameter!r} reads the path value {value!r}, which the route's path {path!r} "
            f"does not have (its values: {values})") in message


def test_a_path_value_on_a_regexp_route() -> None:
    app = Application(load_entry_points=False)

    @app.route(regexp="^/r/(.+)$")
    def regexp(x: str = PathValue("x")) -> str:
        return x

    assert "has no named values (read its groups with RegGroup)" in build_error(app)


def test_a_list_named_like_a_path_value() -> None:
    app = Application(load_entry_points=False)

    @app.route("/batch/{ids}")
    def batch(ids: List[int]) -> str:
        return str(ids)

    message = build_error(app)
    assert "parameter 'ids': named like the path value {ids}, which holds one value, not a list[int]" in message
    assert message.startswith(f"Controller {batch.__module__}.{batch.__qualname__}: ")
