"""Static resources: which file a request path maps to (no I/O but ``realpath`` checks).

Serving the file found (its headers, conditional GET, the open file) is
:mod:`naja_atra.http.file_response`'s job.

The ``resources`` mapping of ``server.start(resources=...)`` maps URL patterns to
folders::

    {"/p/*": "/srv/a",    # /p/x.txt -> /srv/a/x.txt            (one segment below /p/)
     "/p/**": "/srv/a",   # /p/x/y.txt -> /srv/a/x/y.txt        (any depth below /p/)
     "*.css": "/srv/b",   # /x.css -> /srv/b/x.css              (one segment ending in .css)
     "**.js": "/srv/c",   # /x/y.js -> /srv/c/x/y.js            (any path ending in .js)
     "/static": "/srv/d"} # a plain prefix means "/static/**"

A file is never served from outside its folder: see :meth:`StaticMapping.resolve`.
"""
from __future__ import annotations

import os
from typing import Iterator, Mapping, Optional, Union

from ..routing.patterns import SegmentKind
from ..routing.wildcards import WildcardPattern

__all__ = ["StaticMapping", "StaticRule"]

# Characters no request path segment may hold: NUL ends C strings in the OS, a backslash is a
# separator on Windows; on Windows a colon would name a drive or an alternate data stream.
_FORBIDDEN_CHARS: tuple[str, ...] = ("\x00", "\\", ":") if os.name == "nt" else ("\x00", "\\")


class StaticRule:
    """One compiled entry of the resources mapping.

    The URL pattern is written in the path dialect of routes and request filters
    (docs/paths.md) and matches the same paths they would; a pattern with no ``*``, ``**``
    nor ``{name}`` is a folder mount: ``"/static"`` and ``"/static/"`` mean
    ``"/static/**"``, and ``"/"`` means ``"/**"``. The file for a matching path is
    ``root/<served part>``, the served part being the path from its first segment that is
    not plain text in the pattern: ``/p/**`` maps ``/p/a/b.txt`` to ``root/a/b.txt``,
    ``*.css`` maps ``/x.css`` to ``root/x.css``, ``**.js`` maps ``/a/b.js`` to ``root/a/b.js``.
    """

    __slots__ = ("pattern", "matcher", "root", "real_root", "_inside")

    def __init__(self, pattern: str, root: Union[str, os.PathLike[str]]) -> None:
        self.pattern: str = pattern
        self.matcher: WildcardPattern = _compile_pattern(pattern)
        self.root: str = os.path.abspath(os.fspath(root))
        # Resolved once: every served file's real path must lie under it.
        self.real_root: str = os.path.realpath(self.root)
        self._inside = self.real_root if self.real_root.endswith(os.sep) else self.real_root + os.sep

    def relative(self, path: str) -> Optional[str]:
        """The served part of ``path`` (no leading ``/``) if this rule's pattern matches it, or None."""
        return self.matcher.tail("/" + path)

    def file_for(self, rel: str) -> Optional[str]:
        """The real path of the regular file ``root/rel``, if it exists and lies under the root."""
        real = os.path.realpath(os.path.join(self.root, rel))
        # realpath resolves every symlink: a link that leaves the root fails here, one that
        # stays inside passes. (A link swapped between this check and open() is not covered.)
        if not real.startswith(self._inside):
            return None
        return real if os.path.isfile(real) else None

    def __repr__(self) -> str:
        return f"StaticRule({self.pattern!r}, {self.root!r})"


def _compile_pattern(pattern: str) -> WildcardPattern:
    """Compile a resources key: ``"/p/*"``, ``"**.js"``; a plain ``"/s"`` becomes ``"/s/**"``.

    ``ValueError`` for what a route path refuses too (``**`` between two segments, two
    wildcards, ``{}``...) and for an empty, ``.`` or ``..`` plain segment, which no served
    path can have.
    """
    if not isinstance(pattern, str):
        raise TypeError(f"A static resource pattern must be a str, not {type(pattern).__name__}")
    try:
        compiled = WildcardPattern(pattern or "/")
        if compiled.plain:
            # A folder mount ("/static", "/static/", "/"): everything below it.
            compiled = WildcardPattern(pattern.rstrip("/") + "/**")
    except ValueError as e:
        raise ValueError(f"Static resource {e}") from None
    for segment in compiled.pattern.segments:
        if segment.kind is SegmentKind.LITERAL and segment.key in ("", ".", ".."):
            raise ValueError(f"Static resource pattern {pattern!r}: empty, '.' or '..' path segment")
    return compiled


class StaticMapping:
    """The compiled ``resources`` mapping; :meth:`resolve` finds the file for a request path.

    Rules are tried in the mapping's order; the first that yields an existing file wins (a rule
    that matches but has no such file falls through to the next one).
    """

    __slots__ = ("rules",)

    def __init__(self, resources: Optional[Mapping[str, Union[str, os.PathLike[str]]]] = None) -> None:
        self.rules: tuple[StaticRule, ...] = tuple(
            StaticRule(pattern, root) for pattern, root in (resources or {}).items()
        )

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def matches(self, path: str) -> Iterator[tuple[StaticRule, str]]:
        """The rules whose pattern matches the percent-decoded ``path``, in order, each with
        its served part; none for an unsafe path, whatever the patterns.

        Unsafe: any ``.``, ``..`` or empty segment (``/p/../x``, ``/p//x``, a trailing ``/``),
        or a NUL or backslash anywhere (and a colon on Windows). Routes and filters match such
        paths like any other: one of the two documented differences (docs/paths.md).
        """
        if not self.rules or not path:
            return
        rel_path = path[1:] if path[0] == "/" else path
        if not rel_path or any(ch in rel_path for ch in _FORBIDDEN_CHARS):
            return
        # One check for the whole path, so that no rule ever sees a traversal or a directory.
        for segment in rel_path.split("/"):
            if segment in ("", ".", ".."):
                return
        for rule in self.rules:
            rel = rule.relative(rel_path)
            if rel is not None:
                yield rule, rel

    def resolve(self, path: str) -> Optional[str]:
        """The absolute real path of the regular file for the percent-decoded ``path``, or None.

        None for: no matching rule or no such file; a directory; an unsafe path (see
        :meth:`matches`); a file whose real path (symlinks resolved) is outside its rule's
        real root.
        """
        for rule, rel in self.matches(path):
            found = rule.file_for(rel)
            if found is not None:
                return found
        return None

    def __repr__(self) -> str:
        return f"StaticMapping({list(self.rules)!r})"


# Types whose spelling differs between platforms' mime.types (or is missing on old Pythons):
# pinned so that a module script is always served as JavaScript, wasm streams compile, etc.
