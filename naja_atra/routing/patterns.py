"""Compiling a route path (``/a/{id}/*``) into segments a segment trie can index.

A path is split on ``/`` into segments; each segment is one of:

* a **literal** (``users``): compared with ``==`` through a dict;
* a **param** (``{id}`` or ``*`` as the whole segment): any non-empty segment, no regex;
* a **mixed** segment (``{name}.txt``, ``v{major}``, ``*.html``): one regex, full-matched
  against one segment;
* a **rest** segment (``**``, ``**.html``): the rest of the path, one or more segments;
  it may only be the first or the last segment of the pattern.

Captures are named by the ``{name}`` they come from; the (single) wildcard of a
pattern, ``*`` or ``**``, is captured under the name ``"*"``.

This grammar is the one path dialect of the package (docs/paths.md): request filters and
static mappings compile their patterns here too and match them with
:mod:`naja_atra.routing.wildcards`, which turns the same segments into one whole-path regex.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Optional, Sequence

__all__ = [
    "WILDCARD",
    "PathPattern",
    "Segment",
    "SegmentKind",
    "compile_path",
    "segment_source",
    "split_path",
]

WILDCARD = "*"
"""The ``path_values`` key under which a ``*``/``**`` capture is stored."""

# A token of a segment: a ``{...}`` (validated afterwards, so ``{}``/``{a-b}`` get a clear
# message), ``**``, or ``*``. Anything else between tokens is literal text.
_TOKEN = re.compile(r"(\{[^{}/]*\}|\*\*|\*)")
_NAME = re.compile(r"\w+")


class SegmentKind(enum.Enum):
    """What a pattern segment matches (see the module docstring)."""

    LITERAL = "literal"
    PARAM = "param"
    MIXED = "mixed"
    REST = "rest"


@dataclass(frozen=True)
class Segment:
    """One compiled segment of a route path.

    ``key`` identifies the segment's shape so that routes with the same shape share a trie
    node: the literal text, ``""`` for a param, or the regex source for mixed/rest
    segments (so ``{a}.txt`` and ``{b}.txt`` share a node; names are kept per route).
    ``regex`` is full-matched against one segment (mixed) or the rest of the path (rest); a
    rest segment that is exactly ``**`` has no regex. ``names`` are the capture names, in
    the order of the regex groups. ``parts`` is the segment as written, split into literal
    text (even indexes) and capture tokens (odd indexes: ``{name}``, ``*`` or ``**``).
    """

    kind: SegmentKind
    key: str
    regex: Optional[re.Pattern[str]] = None
    names: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class PathPattern:
    """A compiled route path.

    ``rest_first`` is true when the pattern starts with a rest segment (``**/x``); such a
    pattern is matched from the end of the path. ``static`` is true when every segment is
    a literal: the route is then found by a dict lookup on ``key``.
    """

    source: str
    segments: tuple[Segment, ...]
    rest_first: bool
    static: bool

    @property
    def key(self) -> str:
        """The canonical path of a static pattern (``/`` + its segments)."""
        return "/" + "/".join(s.key for s in self.segments)

    def names(self, reverse: bool = False) -> tuple[str, ...]:
        """Capture names in the order a matcher collects values, segment by segment.

        ``reverse`` walks the segments from the last to the first (for ``rest_first``
        patterns); the groups inside one segment stay in their left-to-right order.
        """
        segments = reversed(self.segments) if reverse else iter(self.segments)
        return tuple(name for segment in segments for name in segment.names)


def split_path(path: str) -> list[str]:
    """The segments of a request or route path: one leading ``/`` dropped, then split on ``/``.

    ``/`` gives ``[""]`` and a trailing slash gives a trailing empty segment, so ``/a`` and
    ``/a/`` stay different paths.
    """
    if path.startswith("/"):
        path = path[1:]
    return path.split("/")


def compile_path(path: str) -> PathPattern:
    """Compile a normalised route path; raise ``ValueError`` saying what is wrong with it."""
    if not path:
        raise ValueError("empty path")
    raw = split_path(path)
    segments: list[Segment] = []
    seen: set[str] = set()
    wildcards = 0
    rest_first = False
    for index, text in enumerate(raw):
        segment = _compile_segment(path, text)
        for name in segment.names:
            if name == WILDCARD:
                wildcards += 1
            elif name in seen:
                raise ValueError(f"path {path!r} uses {{{name}}} twice")
            seen.add(name)
        if segment.kind is SegmentKind.REST:
            if 0 < index < len(raw) - 1:
                raise ValueError(f"path {path!r}: '**' may only be at the start or the end of a path")
            rest_first = index == 0
        segments.append(segment)
    if wildcards > 1:
        # One capture key ("*") cannot hold two values; refuse rather than drop one.
        raise ValueError(f"path {path!r} has more than one wildcard ('*' or '**')")
    static = all(s.kind is SegmentKind.LITERAL for s in segments)
    return PathPattern(source=path, segments=tuple(segments), rest_first=rest_first, static=static)


def _compile_segment(path: str, text: str) -> Segment:
    parts = _TOKEN.split(text)
    # re.split with one group alternates literal text (even indexes) and tokens (odd ones).
    literals = parts[0::2]
    tokens = parts[1::2]
    for literal in literals:
        if "{" in literal or "}" in literal:
            raise ValueError(f"path {path!r}: unbalanced '{{' or '}}' in segment {text!r}")
    if not tokens:
        return Segment(SegmentKind.LITERAL, text, parts=(text,))

    names: list[str] = []
    for token in tokens:
        if token.startswith("{"):
            name = token[1:-1]
            if not _NAME.fullmatch(name):
                raise ValueError(
                    f"path {path!r}: {token!r} is not a valid path variable (use {{name}}, "
                    "letters, digits and underscores)"
                )
            names.append(name)
        else:
            names.append(WILDCARD)

    is_rest = "**" in tokens
    if is_rest and len(tokens) > 1:
        raise ValueError(f"path {path!r}: segment {text!r} mixes '**' with another capture")
    if len(tokens) == 1 and not literals[0] and not literals[1]:
        # The whole segment is one capture: no regex needed.
        if is_rest:
            return Segment(SegmentKind.REST, "**", None, (WILDCARD,), tuple(parts))
        return Segment(SegmentKind.PARAM, "", None, tuple(names), tuple(parts))

    # Matched against one segment (mixed) or the joined rest (rest): "." never meets a "/"
    # in the first case and must in the second, so every capture can be "(.+)" here.
    source = segment_source(parts, one_segment="(.+)")
    regex = re.compile(source, re.DOTALL)
    kind = SegmentKind.REST if is_rest else SegmentKind.MIXED
    return Segment(kind, source, regex, tuple(names), tuple(parts))


def segment_source(parts: Sequence[str], one_segment: str) -> str:
    """The regex source of a segment's ``parts``: literal text escaped, each capture greedy
    and non-empty.

    ``**`` becomes ``(.+)`` (any characters, ``/`` included: compile with DOTALL so that a
    decoded ``%0A`` is one too); ``*`` and ``{name}`` become ``one_segment``, which is
    ``(.+)`` where the text matched is one segment already (the trie) and ``([^/]+)`` where
    it is a whole path (:mod:`naja_atra.routing.wildcards`).
    """
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(re.escape(part))
        else:
            out.append("(.+)" if part == "**" else one_segment)
    return "".join(out)
