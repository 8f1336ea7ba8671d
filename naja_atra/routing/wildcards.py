"""One matcher for the path dialect shared by routes, request filters and static mappings.

The default router matches a route path segment by segment in its trie
(:mod:`naja_atra.routing.router`). Request filter paths and the URL patterns of
``resources`` are written in the very same dialect and matched here: a pattern is compiled
by :func:`~naja_atra.routing.patterns.compile_path`, exactly as for a route, and its
segments are joined into one full-match regex over the path. So a written pattern accepts
the same set of paths everywhere (docs/paths.md):

* ``*`` and ``{name}``: one or more characters other than ``/`` (never an empty segment);
  as a whole segment or inside one (``*.html``, ``v{major}``, ``/a/x*``);
* ``**``: one or more characters, ``/`` included (so several segments, and a trailing
  ``/``); only in the first or the last segment of a pattern (``**/edit``, ``/static/**``,
  ``**.js``);
* at most one ``*``/``**`` per pattern; the rest of the text is literal;
* a pattern's leading ``/`` is optional: ``*.html`` and ``/*.html`` are the same pattern.

A ``regexp=`` filter is tried by :func:`match_regexp`, the way the router tries a
``regexp=`` route.

Pure: no I/O and nothing outside :mod:`naja_atra.routing.patterns`.
"""
from __future__ import annotations

import re
from typing import Optional

from .patterns import PathPattern, SegmentKind, compile_path, segment_source

__all__ = ["WildcardPattern", "match_regexp"]

# A "*" or "{name}" inside a whole path: one segment's worth of characters.
_ONE_SEGMENT = "([^/]+)"
# split_path's normalisation inside the regex: exactly one leading "/" is consumed if there
# is one (so "/" never matches "**", and "//a" is "/a"), none is required. A plain pattern
# is found by the router as the exact path "/" + segments, so it requires the "/".
_LEADING_SLASH = "(?:/|(?!/))"


def _drop_slash(path: str) -> str:
    # The same normalisation as split_path: one leading "/" is not part of the pattern.
    return path[1:] if path.startswith("/") else path


class WildcardPattern:
    """A path pattern compiled into one whole-path regex; raises ``ValueError`` like a route.

    ``regex`` is to be full-matched against a request path (``regex.fullmatch(path)``); its
    groups are the captures, in the order of :attr:`names`. ``prefix_length`` is the length
    of the pattern's leading plain-text segments with the ``/`` after them (``4`` for
    ``/p/q/*``, ``0`` for ``*.css`` or ``**``), so that :meth:`tail` can cut them off a
    matching path.
    """

    __slots__ = ("source", "pattern", "names", "prefix_length", "regex")

    def __init__(self, source: str) -> None:
        self.source = source
        self.pattern: PathPattern = compile_path(source)
        segments = self.pattern.segments
        body = "/".join(segment_source(s.parts, _ONE_SEGMENT) for s in segments)
        lead = "/" if self.pattern.static else _LEADING_SLASH
        self.regex: re.Pattern[str] = re.compile(lead + body, re.DOTALL)
        #: Capture names in the order of the regex groups (left to right).
        self.names: tuple[str, ...] = self.pattern.names()
        literal = 0
        while literal < len(segments) and segments[literal].kind is SegmentKind.LITERAL:
            literal += 1
        if literal == len(segments):
            self.prefix_length = len(_drop_slash(source))
        else:
            self.prefix_length = sum(len(s.key) + 1 for s in segments[:literal])

    @property
    def plain(self) -> bool:
        """True when the pattern has no ``*``, ``**`` nor ``{name}``: one path only."""
        return self.pattern.static

    def matches(self, path: str) -> bool:
        """Whether ``path`` (the percent-decoded request path) is in the pattern's set."""
        return self.regex.fullmatch(path) is not None

    def match(self, path: str) -> Optional[dict[str, str]]:
        """The captured values by name (``"*"`` for the wildcard), or None if ``path`` is not
        in the set; the same values the default router gives a route with this path."""
        m = self.regex.fullmatch(path)
        if m is None:
            return None
        return dict(zip(self.names, m.groups(), strict=False))

    def tail(self, path: str) -> Optional[str]:
        """If ``path`` matches: its part from the first segment that is not plain text in
        the pattern (``a/b.txt`` for ``/p/**`` and ``/p/a/b.txt``; the whole path, without
        its leading ``/``, for ``**.js`` or ``*.css``), else None."""
        if self.regex.fullmatch(path) is None:
            return None
        return _drop_slash(path)[self.prefix_length:]

    def __repr__(self) -> str:
        return f"WildcardPattern({self.source!r})"


def match_regexp(regex: re.Pattern[str], path: str) -> Optional[re.Match[str]]:
    """A ``regexp=`` route or filter: ``re.match`` against the path, then against the path
    without its leading ``/`` (so ``^/reg/`` and ``^reg/`` both work, as in 1.x).

    The default router does the same inline, in its per-request loop.
    """
    m = regex.match(path)
    if m is None and path.startswith("/"):
        m = regex.match(path[1:])
    return m
