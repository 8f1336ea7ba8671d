"""The cost of argument injection per request, in microseconds (run on demand).

Two routes of one application, driven in-process through the full pipeline (filters,
routing, injection, rendering) by the test client:

- ``/none``: a controller with no parameters;
- ``/five``: the same controller with five injected arguments: two markers (``Header``
  and ``Parameter``), two typed query values (``int`` and ``bool``) and one
  request-scoped provider (``Depends``).

The difference of the medians is the injection cost. Usage::

    python3 benchmarks/injection.py [--requests 20000] [--repeats 7]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# benchmarks/http.py would shadow the standard library's http package: drop this folder
# from the path and put the repository first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from naja_atra import Application, Header, Parameter  # noqa: E402
from naja_atra.injection.providers import Depends  # noqa: E402


def build_app() -> Application:
    """The two routes being compared."""
    app = Application(load_entry_points=False)

    def current_user(token: str = Header("X-Token", default="anonymous")) -> str:
        return token.upper()

    @app.route("/none")
    def none() -> str:
        return "ok"

    @app.route("/five")
    def five(
        agent: str = Header("User-Agent", default=""),
        name: str = Parameter("name", default="world"),
        page: int = 1,
        verbose: bool = False,
        user: str = Depends(current_user),
    ) -> str:
        return "ok"

    return app


def per_request_us(client: object, path: str, requests: int, headers: dict[str, str]) -> float:
    """Microseconds per request for ``requests`` GETs of ``path``."""
    get = client.get  # type: ignore[attr-defined]
    start = time.perf_counter()
    for _ in range(requests):
        get(path, headers=headers)
    return (time.perf_counter() - start) / requests * 1e6


def main() -> None:
    """Measure both routes alternately and print the medians and their difference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    app = build_app()
    client = app.test_client()
    headers = {"User-Agent": "bench", "X-Token": "t"}
    assert client.get("/five?name=x&page=2&verbose=1", headers=headers).text == "ok"
    per_request_us(client, "/none", 2000, headers)  # warm-up
    none_runs, five_runs = [], []
    for _ in range(args.repeats):
        none_runs.append(per_request_us(client, "/none?name=x&page=2&verbose=1", args.requests, headers))
        five_runs.append(per_request_us(client, "/five?name=x&page=2&verbose=1", args.requests, headers))
    none_us, five_us = statistics.median(none_runs), statistics.median(five_runs)
    print(f"python {sys.version.split()[0]}; {args.repeats} x {args.requests} requests per route, in-process")
    print(f"no arguments:        {none_us:8.2f} us/request (median)")
    print(f"five arguments:      {five_us:8.2f} us/request (median)")
    print(f"injection cost:      {five_us - none_us:8.2f} us/request for 5 arguments "
          f"({(five_us - none_us) / 5:.2f} us each)")


if __name__ == "__main__":
    main()
