"""Import every controller module of a project folder (``server.scan``).

What happens when a module fails to import is the caller's choice (``on_error``):

- ``"log"``: the failure is logged at ERROR level, naming the module and its file, with the
  original traceback; the other modules are still imported, and a missing ``base_dir``
  is logged and imports nothing. This is what naja-atra 1.x did, and the default of the 1.x
  entry points (``naja_atra.server.scan``, ``Application.scan``, ``python -m naja_atra``).
- ``"raise"``: the first failure raises an :class:`ImportError` naming the module and its file
  (``name`` and ``path`` set), whose ``__cause__`` is the original error; a missing folder is a
  :class:`FileNotFoundError`. The default of :func:`scan` here, this package's own helper.
"""
from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Optional

from .logger import get_logger

__all__ = ["ON_ERROR_CHOICES", "default_project_dir", "find_modules", "scan"]

_logger = get_logger("naja_atra.utils.scan")

#: The values of ``scan(..., on_error=...)``.
ON_ERROR_CHOICES = ("log", "raise")


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


def _start(root: str, base_dir: str) -> str:
    """The folder (or module file) to scan: ``base_dir`` inside ``root`` (ValueError if it
    leaves it). As in 1.x, ``base_dir`` may name one module: ``pkg/mod.py`` or ``pkg/mod``."""
    # base_dir is a path *inside* the project: "pkg", "pkg/sub", "/pkg/" and "pkg\\sub" are all
    # accepted, since the module names are relative to the project and cannot leave it.
    relative = os.path.normpath(base_dir.replace("\\", "/").strip("/")) if base_dir else ""
    if relative in ("", "."):
        return root
    if relative == ".." or relative.startswith("../") or os.path.isabs(relative):
        raise ValueError(f"scan: base_dir {base_dir!r} is outside the project folder {root!r}")
    start = os.path.join(root, relative)
    if not os.path.isdir(start) and not start.endswith(".py") and os.path.isfile(start + ".py"):
        return start + ".py"
    return start


def _exists(start: str) -> bool:
    return os.path.isdir(start) or (start.endswith(".py") and os.path.isfile(start))


def _module_name(root: str, path: str) -> Optional[str]:
    """The dotted name of the module file ``path`` below ``root``; None if it has none."""
    parts = os.path.relpath(path, root).split(os.sep)
    stem, ext = os.path.splitext(parts.pop())
    if ext != ".py" or not all(part.isidentifier() for part in [*parts, stem]):
        return None
    if stem == "__init__":
        # a package stands for itself; the project folder itself is not a package we can name
        return ".".join(parts) or None
    return ".".join([*parts, stem])


def _module_files(root: str, start: str, regx: str) -> dict[str, str]:
    """Dotted module name -> its file, for the modules at or below ``start`` matching ``regx``."""
    pattern = re.compile(regx) if regx else None
    main_file = _main_file()
    if os.path.isfile(start):
        candidates = [start]
    else:
        candidates = []
        for dirpath, dirnames, filenames in os.walk(start):
            # Prune in place so os.walk does not descend: caches, hidden folders (.git, .venv,
            # ...), and folders whose name cannot be part of a dotted module name (e.g.
            # "python3.11"). (A hidden name is never an identifier.)
            dirnames[:] = [d for d in dirnames if d.isidentifier() and d != "__pycache__"]
            candidates.extend(os.path.join(dirpath, filename) for filename in filenames)
    found: dict[str, str] = {}
    for path in candidates:
        # Re-importing the running script under its module name would run it a second time.
        if main_file is not None and os.path.realpath(path) == main_file:
            continue
        name = _module_name(root, path)
        if name is not None and (pattern is None or pattern.match(name)):
            found[name] = path
    return found


def find_modules(base_dir: str = "", regx: str = r"", project_dir: str = "") -> list[str]:
    """The dotted names of the modules :func:`scan` would import, sorted, without importing them.

    A module's name is its path relative to ``project_dir`` with ``/`` turned into ``.`` and the
    ``.py`` dropped; a package's ``__init__.py`` stands for the package itself (``pkg``, not
    ``pkg.__init__``). Folders without ``__init__.py`` are namespace packages and are walked too.
    ``base_dir`` may also name a single module (``pkg/mod.py`` or ``pkg/mod``), as in 1.x. A
    missing folder is a :class:`FileNotFoundError`.
    """
    root = os.path.abspath(project_dir or default_project_dir())
    start = _start(root, base_dir)
    if not _exists(start):
        raise FileNotFoundError(f"scan: no folder or module {start!r} (base_dir={base_dir!r}, project_dir={root!r})")
    return sorted(_module_files(root, start, regx))


def scan(base_dir: str = "", regx: str = r"", project_dir: str = "", *, on_error: str = "raise") -> list[str]:
    """Import the modules under ``project_dir``/``base_dir`` whose dotted name matches ``regx``.

    ``project_dir`` defaults to the folder of the ``__main__`` script (else the working
    directory) and is put first on ``sys.path`` if it is not there yet. ``regx`` is applied
    with :func:`re.match` to each module's full dotted name (e.g. ``my_pkg.sub.user_controller``);
    empty matches every module. Returns the names imported without error, in sorted order.

    ``on_error`` (``"raise"`` or ``"log"``, see the module docstring) decides what a module that
    fails to import, or a missing folder, does: raise at once, or be logged and skipped.
    """
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"scan: on_error must be one of {', '.join(map(repr, ON_ERROR_CHOICES))}, "
                         f"not {on_error!r}")
    root = os.path.abspath(project_dir or default_project_dir())
    start = _start(root, base_dir)
    if not _exists(start):
        message = f"scan: no folder or module {start!r} (base_dir={base_dir!r}, project_dir={root!r})"
        if on_error == "raise":
            raise FileNotFoundError(message)
        _logger.error("%s: no module imported", message)
        return []
    files = _module_files(root, start, regx)
    if not any(os.path.abspath(p or os.curdir) == root for p in sys.path):
        # First, so that the project's own packages win over same-named installed ones, exactly
        # as when the project's script is run directly.
        sys.path.insert(0, root)
    importlib.invalidate_caches()  # files may have been written since the finders last looked
    imported: list[str] = []
    for name in sorted(files):
        _logger.info("Import controllers from module: %s", name)
        try:
            importlib.import_module(name)
        except Exception as error:
            message = (f"scan: importing module {name!r} from {files[name]!r} failed: "
                       f"{type(error).__name__}: {error}")
            if on_error == "raise":
                raise ImportError(message, name=name, path=files[name]) from error
            _logger.error("%s (skipped; the other modules are still imported)", message,
                          exc_info=(type(error), error, error.__traceback__))
            continue
        imported.append(name)
    return imported
