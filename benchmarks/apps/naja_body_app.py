"""The body benchmark app: ``POST /size`` answers the size of ``request.body`` (read whole
before the controller runs). Written against the API naja-atra 1.2.2 and this package share,
so ``benchmarks/held_uploads.py --tree`` can measure either.

    python naja_body_app.py --port 8080 --mode threading   # or --mode asyncio
"""
import argparse

from naja_atra import Request, route, server
from naja_atra.utils import logger


@route("/size", method="POST")
def size(request: Request) -> str:
    return str(len(request.body))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("threading", "asyncio"), default="threading")
    args = parser.parse_args()
    logger.set_level("ERROR")
    server.start(host="127.0.0.1", port=args.port, prefer_coroutine=args.mode == "asyncio")


if __name__ == "__main__":
    main()
