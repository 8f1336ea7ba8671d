"""Tags, names and ``include_in_schema`` as registrations give them: ``tags=`` of a route,
of a controller class and of a ``RouteGroup`` (and of its inclusion), ``name=`` as the
operation id, and routes left out of the document."""
from __future__ import annotations

import functools
from typing import Any

from openapi_spec_validator import validate

from naja_atra import Application, RouteGroup


def document_of(app: Application) -> dict[str, Any]:
    document = app.openapi()
    validate(document)
    return document


def test_tags_of_routes_classes_and_groups() -> None:
    app = Application(load_entry_points=False)
    users = RouteGroup("/users", name="users", tags=["users"])

    @users.route("/{user_id}", method="GET", tags="profile")
    def show(user_id: int) -> None:
        """Show a user."""

    @users.route("", method="GET")
    def index() -> None:
        return None

    @app.route("/books", method="GET", tags=["books"])
    class Books:
        @app.route("/{book_id}", tags=["read"])
        def show(self, book_id: int) -> None:
            return None

    @app.route("/health", method="GET", include_in_schema=False)
    def health() -> str:
        return "ok"

    hidden = RouteGroup("/admin", include_in_schema=False)

    @hidden.route("/stats", method="GET")
    def stats() -> None:
        return None

    app.include(users, prefix="/api", tags=["v1"])
    app.include(hidden)
    document = document_of(app)
    paths = document["paths"]
    assert sorted(paths) == ["/api/users", "/api/users/{user_id}", "/books/{book_id}"]
    show_user = paths["/api/users/{user_id}"]["get"]
    assert show_user["tags"] == ["v1", "users", "profile"]
    assert show_user["summary"] == "Show a user."
    assert paths["/api/users"]["get"]["tags"] == ["v1", "users"]
    assert paths["/books/{book_id}"]["get"]["tags"] == ["books", "read"]
    assert sorted(tag["name"] for tag in document["tags"]) == ["books", "profile", "read", "users", "v1"]
    # The names url_for knows are the operation ids: unique across groups and classes.
    ids = {paths[p]["get"]["operationId"] for p in paths}
    assert len(ids) == 3
    assert app.url_for(show_user["operationId"], user_id=7) == "/api/users/7"


def test_the_route_name_is_the_operation_id() -> None:
    app = Application(load_entry_points=False)

    @app.route("/a", method="GET", name="first_page")
    def page_a() -> None:
        return None

    def page(which: str) -> str:
        return which

    app.route("/b", method="GET", name="second_page")(functools.partial(page, "b"))
    paths = document_of(app)["paths"]
    assert paths["/a"]["get"]["operationId"] == "first_page"
    assert paths["/b"]["get"]["operationId"] == "second_page"
    assert "summary" not in paths["/b"]["get"]  # not the docstring of functools.partial
