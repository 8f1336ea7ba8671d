"""Import every controller module of a project folder (``server.scan``)."""
from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Optional

from .logger import get_logger

__all__ = ["default_project_dir", "find_modules", "scan"]

_logger = get_logger("naja_atra.utils.scan")


def default_project_dir() -> str:
    """The folder of the ``__main__`` script, or the working directory when there is none."""
    main = sys.modules.get("__main__")
    main_file: Optional[str] = getattr(main, "__file__", None)
    if main_file:
        return os.path.dirname(os.path.abspath(main_file))
    return os.getcwd()


def _main_file() -> Optional[str]:
    main_file: Optional[str] = getattr(sys.modules.get("__main__"), "__file__", None)
    return os.path.realpath(main_file) if main_file else None


def find_modules(base_dir: str = "", regx: str = r"", project_dir: str = "") -> list[str]:
    """The dotted names of the modules :func:`scan` would import, sorted, without importing them.

    A module's name is its path relative to ``project_dir`` with ``/`` turned into ``.`` and the
    ``.py`` dropped; a package's ``__init__.py`` stands for the package itself (``pkg``, not
    ``pkg.__init__``). Folders without ``__init__.py`` are namespace packages and are walked too.
    """
    root = os.path.abspath(project_dir or default_project_dir())
    # base_dir is a folder *inside* the project: "pkg", "pkg/sub", "/pkg/" and "pkg\\sub" are all
    # accepted, since the module names are relative to the project and cannot leave it.
    relative = os.path.normpath(base_dir.replace("\\", "/").strip("/")) if base_dir else ""
    if relative in ("", "."):
        relative = ""
    elif relative == ".." or relative.startswith("../") or os.path.isabs(relative):
        raise ValueError(f"scan: base_dir {base_dir!r} is outside the project folder {root!r}")
    start = os.path.join(root, relative) if relative else root
    if not os.path.isdir(start):
        raise FileNotFoundError(f"scan: no folder {start!r} (base_dir={base_dir!r}, project_dir={root!r})")
    pattern = re.compile(regx) if regx else None
    main_file = _main_file()

    names: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(start):
        # Prune in place so os.walk does not descend: caches, hidden folders (.git, .venv, ...),
        # and folders whose name cannot be part of a dotted module name (e.g. "python3.11").
        # (A hidden name is never an identifier.)
        dirnames[:] = [d for d in dirnames if d.isidentifier() and d != "__pycache__"]
        rel_dir = os.path.relpath(dirpath, root)
        parts = [] if rel_dir == "." else rel_dir.split(os.sep)
        for filename in filenames:
            stem, ext = os.path.splitext(filename)
            if ext != ".py" or not stem.isidentifier():
                continue
            # Re-importing the running script under its module name would run it a second time.
            if main_file is not None and os.path.realpath(os.path.join(dirpath, filename)) == main_file:
                continue
            if stem == "__init__":
                if not parts:
                    continue  # the project folder itself is not a package we can name
                name = ".".join(parts)
            else:
                name = ".".join([*parts, stem])
            if pattern is None or pattern.match(name):
                names.add(name)
    return sorted(names)


def scan(base_dir: str = "", regx: str = r"", project_dir: str = "") -> list[str]:
    """Import the modules under ``project_dir``/``base_dir`` whose dotted name matches ``regx``.

    ``project_dir`` defaults to the folder of the ``__main__`` script (else the working
    directory) and is put first on ``sys.path`` if it is not there yet. ``regx`` is applied
    with :func:`re.match` to each module's full dotted name (e.g. ``my_pkg.sub.user_controller``);
    empty matches every module. Returns the imported names in sorted order. A module that fails
    to import raises an :class:`ImportError` naming it, chained to the original error.
    """
    root = os.path.abspath(project_dir or default_project_dir())
    modules = find_modules(base_dir, regx, root)
    if not any(os.path.abspath(p or os.curdir) == root for p in sys.path):
        # First, so that the project's own packages win over same-named installed ones, exactly
        # as when the project's script is run directly.
        sys.path.insert(0, root)
    importlib.invalidate_caches()  # files may have been written since the finders last looked
    for name in modules:
        _logger.info("Import controllers from module: %s", name)
        try:
            importlib.import_module(name)
        except Exception as error:
            raise ImportError(f"scan: importing module {name!r} failed: {error}", name=name) from error
    return modules
