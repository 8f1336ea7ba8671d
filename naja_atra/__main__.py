"""``python -m naja_atra``: scan a project for controllers and serve them."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from . import version as __version__
from .app.application import Application
from .app.default import default_app
from .utils import logger
from .utils.scan import ON_ERROR_CHOICES


def build_parser() -> argparse.ArgumentParser:
    """The command line of the original framework, plus ``--routes``, ``--plugins`` and the
    options of the plugins (installed entry-point plugins are loaded first, so theirs exist)."""
    parser = argparse.ArgumentParser(prog="python -m naja_atra", description="Serve the controllers of a project.")
    parser.add_argument("-p", "--port", type=int, default=9090, help="port to listen on (default: 9090)")
    parser.add_argument("-b", "--bind", default="0.0.0.0", help="address to bind (default: 0.0.0.0)")
    parser.add_argument("-s", "--scan", default=os.getcwd(), help="project folder to scan for controllers")
    parser.add_argument("--regex", default="", help="only import modules whose name matches this expression")
    parser.add_argument("--scan-errors", choices=ON_ERROR_CHOICES, default="log",
                        help="a scanned module that fails to import: log it and go on (default, as in 1.x) "
                             "or raise, which stops the start")
    parser.add_argument("-r", "--resources", default="", help="folder of static files, served under /")
    parser.add_argument("--loglevel", default="", help="log level (default: info)")
    parser.add_argument("--prefer-coroutine", action="store_true", help="use the asyncio server")
    parser.add_argument("--shutdown-timeout", type=float, default=10.0,
                        help="seconds in-flight requests get to finish on SIGTERM/SIGINT (default: 10)")
    parser.add_argument("--routes", action="store_true", help="print the route table and exit")
    parser.add_argument("--plugins", action="store_true",
                        help="list the loaded plugins, their distribution, version and hooks, and exit")
    default_app.load_entry_point_plugins()
    default_app.hooks.add_cli_options(parser)
    return parser


def plugin_lines(app: Application) -> list[str]:
    """One line per registered plugin: name, distribution, version, implemented hooks (the
    application is not built: a plugin blocked or missing must not stop the listing)."""
    app.load_entry_point_plugins()
    origins = {p.name: (p.distribution, p.version) for p in app.entry_point_plugins}
    pm = app.plugin_manager
    lines = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # a blocked name
            lines.append(f"{name:<28} (blocked)")
            continue
        dist, version = origins.get(name, ("naja-atra", __version__) if name.startswith("naja_atra.") else ("-", "-"))
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or ())
        lines.append(f"{name:<28} {dist} {version}: {', '.join(hooks)}")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    default_app.cli_args = args
    if args.loglevel:
        logger.set_level(args.loglevel.upper())
    if args.plugins:  # before the scan: listing plugins imports nothing of the project
        for line in plugin_lines(default_app):
            print(line)
        return 0
    try:
        default_app.scan(regx=args.regex, project_dir=args.scan, on_error=args.scan_errors)
    except (ImportError, FileNotFoundError) as error:  # --scan-errors raise: one line, no traceback
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if args.resources:
        default_app.resources["/**"] = os.path.abspath(args.resources)
    if args.routes:
        for route in default_app.routes():
            if not route.extras.get("options"):  # the built-in OPTIONS answer is not a route of the project
                print(route.describe().rstrip())
        return 0
    # start() stops gracefully on SIGTERM/SIGINT (a second signal forces) and restores the
    # previous handlers when it returns.
    default_app.start(host=args.bind, port=args.port, prefer_coroutine=args.prefer_coroutine,
                      shutdown_timeout=args.shutdown_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
