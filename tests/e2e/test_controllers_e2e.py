"""End to end: class controllers (a new object per request, ``@controller``
singletons with init arguments, class-level prefixes and default methods, regexp methods
on a prefixed class) over real sockets, on both drivers."""

import asyncio
import itertools
import threading
from typing import Any, Callable

from naja_atra import Application

Serve = Callable[..., Any]


class PlainController:
    """A class without a class decorator (as 1.x code writes it): one object per request."""

    serials = itertools.count(1)
    lock = threading.Lock()

    def __init__(self) -> None:
        with PlainController.lock:
            self.serial = next(PlainController.serials)
        self._name = "ctr object"
        self.hits = 0

    def my_ctrl_mth(self, name: str) -> dict[str, Any]:
        self.hits += 1
        return {"message": f"hello, {name}, {self._name} says. ", "serial": self.serial, "hits": self.hits}

    async def my_async_mth(self, name: str) -> dict[str, Any]:
        await asyncio.sleep(0)
        self.hits += 1
        return {"message": f"async hello, {name}", "serial": self.serial, "hits": self.hits}


def plain_app() -> Application:
    """Fresh app; the methods of the module-level class are mapped as ``@route`` in its body would."""
    app = Application()
    PlainController.serials = itertools.count(1)
    app.route("/obj/say_hello", method="GET")(PlainController.__dict__["my_ctrl_mth"])
    app.route("/obj/async_hello", method="GET")(PlainController.__dict__["my_async_mth"])
    return app


def test_class_method_route_gets_a_new_object_per_request(serve: Serve) -> None:
    client = serve(plain_app())
    first = client.get("/obj/say_hello?name=keijack")
    assert first.status == 200
    assert first.json() == {"message": "hello, keijack, ctr object says. ", "serial": 1, "hits": 1}
    second = client.get("/obj/say_hello?name=x")
    assert second.json() == {"message": "hello, x, ctr object says. ", "serial": 2, "hits": 1}


def test_async_class_method_gets_a_new_object_per_request(serve: Serve) -> None:
    client = serve(plain_app())
    serials = [client.get("/obj/async_hello?name=a").json()["serial"] for _ in range(3)]
    assert serials == [1, 2, 3]
    assert client.get("/obj/async_hello?name=a").json()["hits"] == 1


def test_class_method_missing_parameter_is_400(serve: Serve) -> None:
    client = serve(plain_app())
    r = client.get("/obj/say_hello")
    assert r.status == 400
    assert b"name" in r.body


# -- @controller singletons ------------------------------------------------------------------


def singleton_app() -> tuple[Application, list[Any]]:
    app = Application()
    made: list[Any] = []

    @app.controller
    class MyController:

        def __init__(self) -> None:
            made.append(self)
            self._name = "ctr object"
            self.hits = 0

        @app.route("/obj/say_hello", method="GET")
        def my_ctrl_mth(self, name: str) -> dict[str, Any]:
            self.hits += 1
            return {"message": f"hello, {name}, {self._name} says. ", "id": id(self), "hits": self.hits}

        @app.route("/obj/other", method="GET")
        async def other(self) -> dict[str, Any]:
            await asyncio.sleep(0)
            self.hits += 1
            return {"id": id(self), "hits": self.hits}

    return app, made


def test_controller_is_a_singleton(serve: Serve) -> None:
    app, made = singleton_app()
    client = serve(app)
    replies = [client.get(f"/obj/say_hello?name=n{i}").json() for i in range(3)]
    assert [r["hits"] for r in replies] == [1, 2, 3]
    assert len({r["id"] for r in replies}) == 1
    assert replies[0]["message"] == "hello, n0, ctr object says. "
    # Every route of the class shares the object.
    other = client.get("/obj/other").json()
    assert other == {"id": replies[0]["id"], "hits": 4}
    assert len(made) == 1
    assert id(made[0]) == replies[0]["id"]


def test_controller_with_init_arguments(serve: Serve) -> None:
    app = Application()

    @app.controller(args=["ctr_name"], kwargs={"desc": "this is a key word argument"})
    @app.route("/obj", method="GET")
    class MyController:

        def __init__(self, name: str, desc: str = "") -> None:
            self._name = f"ctr[{name}] - {desc}"

        @app.route
        def my_ctrl_default_mth(self, name: str) -> dict[str, Any]:
            return {"message": f"hello, {name}, {self._name} says. "}

        @app.route("/say_hello", method=("GET", "POST"))
        def my_ctrl_mth(self, name: str) -> dict[str, Any]:
            return {"message": f"hello, {name}, {self._name} says. "}

    client = serve(app)
    expected = {"message": "hello, kj, ctr[ctr_name] - this is a key word argument says. "}
    assert client.get("/obj?name=kj").json() == expected
    assert client.get("/obj/say_hello?name=kj").json() == expected
    assert client.post_form("/obj/say_hello", {"name": "kj"}).json() == expected


def test_controller_with_positional_init_arguments_only(serve: Serve) -> None:
    app = Application()

    @app.controller(args=["a", "b"])
    class Pair:
        def __init__(self, first: str, second: str) -> None:
            self.pair = f"{first}+{second}"

        @app.route("/pair")
        def show(self) -> str:
            return self.pair

    client = serve(app)
    assert client.get("/pair").text == "a+b"


# -- class-level @route: prefix and default method ------------------------------------------


def prefixed_app() -> Application:
    app = Application()

    @app.controller
    @app.route("/obj", method="GET")
    class MyController:

        def __init__(self) -> None:
            self._name = "ctr object"

        @app.route
        def my_ctrl_default_mth(self, name: str) -> dict[str, Any]:
            return {"message": f"hello, {name}, {self._name} says. ", "route": "default"}

        @app.route("/say_hello", method=("GET", "POST"))
        def my_ctrl_mth(self, name: str) -> dict[str, Any]:
            return {"message": f"hello, {name}, {self._name} says. ", "route": "say_hello"}

        @app.route("/inherits")
        def inherits_method(self) -> str:
            return "inherits"

        @app.route("no_slash")
        def no_slash(self) -> str:
            return "no slash"

        @app.route(regexp="^(reg/(.+))$")
        def my_reg_mth(self, name: str) -> dict[str, Any]:
            return {"message": f"hello, {name}, {self._name} says. ", "route": "regexp"}

    return app


def test_bare_route_method_maps_to_the_class_prefix(serve: Serve) -> None:
    client = serve(prefixed_app())
    r = client.get("/obj?name=kj")
    assert r.status == 200
    assert r.json() == {"message": "hello, kj, ctr object says. ", "route": "default"}


def test_class_method_default_is_used_by_bare_route(serve: Serve) -> None:
    client = serve(prefixed_app())
    r = client.post_form("/obj", {"name": "kj"})
    assert r.status == 405
    assert r.header("Allow") == "GET, HEAD"


def test_method_path_is_joined_to_the_prefix(serve: Serve) -> None:
    client = serve(prefixed_app())
    assert client.get("/obj/say_hello?name=a").json()["route"] == "say_hello"
    assert client.post_form("/obj/say_hello", {"name": "b"}).json() == {
        "message": "hello, b, ctr object says. ", "route": "say_hello"}
    r = client.request("PUT", "/obj/say_hello?name=c", body=b"")
    assert r.status == 405
    assert r.header("Allow") == "GET, HEAD, POST"
    # Without the prefix there is nothing.
    assert client.get("/say_hello?name=a").status == 404


def test_method_without_own_method_inherits_the_class_method(serve: Serve) -> None:
    client = serve(prefixed_app())
    assert client.get("/obj/inherits").text == "inherits"
    r = client.post("/obj/inherits", b"")
    assert r.status == 405
    assert r.header("Allow") == "GET, HEAD"
    assert client.get("/obj/no_slash").text == "no slash"


def test_regexp_method_on_a_prefixed_class(serve: Serve) -> None:
    client = serve(prefixed_app())
    # The class prefix is ignored for a regexp route ...
    r = client.get("/reg/abc/def?name=kj")
    assert r.status == 200
    assert r.json() == {"message": "hello, kj, ctr object says. ", "route": "regexp"}
    assert client.get("/obj/reg/abc?name=kj").status == 404
    # ... but the class's method still applies.
    r = client.post_form("/reg/abc", {"name": "kj"})
    assert r.status == 405
    assert r.header("Allow") == "GET, HEAD"


def test_prefixed_class_without_controller_decorator_is_per_request(serve: Serve) -> None:
    app = Application()
    made: list[int] = []

    @app.route("/per-request", method="GET")
    class Counter:
        def __init__(self) -> None:
            made.append(1)
            self.n = len(made)

        @app.route
        def show(self) -> dict[str, int]:
            return {"n": self.n}

    client = serve(app)
    assert [client.get("/per-request").json()["n"] for _ in range(3)] == [1, 2, 3]


def test_two_apps_with_same_paths_are_isolated(serve: Serve) -> None:
    first, second = Application(), Application()

    @first.route("/who")
    def who_first() -> str:
        return "first"

    @second.route("/who")
    def who_second() -> str:
        return "second"

    c1, c2 = serve(first), serve(second)
    assert c1.port != c2.port
    assert (c1.get("/who").text, c2.get("/who").text) == ("first", "second")
