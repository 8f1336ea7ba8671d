"""How long an application with many typed routes takes to build, and to describe itself
(run on demand, not in CI).

Each run registers ``--routes`` routes on a new application (not timed), then times:

- ``build``: ``app.build()`` alone (resolvers, converters, filters, router);
- ``build + openapi``: ``app.build()`` then ``app.openapi()``, the OpenAPI document;
- ``openapi``: ``app.openapi()`` on a built application, the first time;
- ``openapi again``: the next ``app.openapi()`` of the same build (what each request for
  the served document costs: the routes' arguments are kept until the next build).

Half the routes are ``GET /rN/items/{item_id}`` with a path value, three typed query
parameters, a header and a dataclass result; the other half ``POST /rN/items`` with a
dataclass body (ten dataclasses shared among them, nested), a provider reading a header,
and a list result. Prints the median of ``--repeats`` runs, in milliseconds. Usage::

    python3 benchmarks/build_time.py [--routes 1000] [--repeats 7]
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, List, Optional

# benchmarks/http.py would shadow the standard library's http package: drop this folder
# from the path and put the repository first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from naja_atra import Application, Depends, FromHeader, Query  # noqa: E402


@dataclasses.dataclass
class Address:
    city: str
    zip: int


def _model(index: int) -> type:
    """One of the ten dataclasses the routes share (each with a nested Address)."""
    return dataclasses.make_dataclass(
        f"Model{index}",
        [("name", str), ("count", int), ("address", Address), ("tags", List[str]),
         ("note", Optional[str], dataclasses.field(default=None))])


MODELS = [_model(i) for i in range(10)]


def current_user(authorization: FromHeader[str] = "") -> str:
    return authorization


def _get_route(model: type) -> Callable[..., Any]:
    def show(item_id: int, page: Query[int] = 1, size: Query[int] = 20, verbose: bool = False,
             x_trace: FromHeader[str] = "") -> Any:
        return model
    show.__annotations__["return"] = model
    return show


def _post_route(model: type) -> Callable[..., Any]:
    def create(body: Any, user: str = Depends(current_user)) -> Any:
        return [body]
    create.__annotations__["body"] = model
    create.__annotations__["return"] = List[model]  # type: ignore[valid-type]
    return create


def make_app(routes: int) -> Application:
    """An application with ``routes`` typed routes, registered but not built."""
    app = Application(load_entry_points=False, title="build_time")
    for index in range(routes):
        model = MODELS[index % len(MODELS)]
        if index % 2 == 0:
            handler = _get_route(model)
            handler.__name__ = f"show_{index}"
            app.route(f"/r{index}/items/{{item_id}}", method="GET")(handler)
        else:
            handler = _post_route(model)
            handler.__name__ = f"create_{index}"
            app.route(f"/r{index}/items", method="POST")(handler)
    return app


def _timed(action: Callable[[], Any]) -> float:
    gc.collect()  # the garbage of the previous measure is not this one's
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000.0


def run(routes: int, repeats: int) -> dict[str, float]:
    """The median milliseconds of each measure."""
    build: list[float] = []
    both: list[float] = []
    document: list[float] = []
    again: list[float] = []
    operations = 0
    for _ in range(repeats):
        app = make_app(routes)
        build.append(_timed(app.build))
        document.append(_timed(app.openapi))
        again.append(_timed(app.openapi))
        app = make_app(routes)

        def build_and_describe(app: Application = app) -> None:
            nonlocal operations
            app.build()
            operations = sum(len(item) for item in app.openapi()["paths"].values())
        both.append(_timed(build_and_describe))
    if operations != routes:
        raise SystemExit(f"expected {routes} operations in the document, found {operations}")
    return {"build": statistics.median(build), "build + openapi": statistics.median(both),
            "openapi": statistics.median(document), "openapi again": statistics.median(again)}


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    results = run(args.routes, args.repeats)
    print(f"{args.routes} typed routes, median of {args.repeats} runs (Python {sys.version.split()[0]}):")
    for name, value in results.items():
        print(f"  {name:<16} {value:8.1f} ms")


if __name__ == "__main__":
    main()
