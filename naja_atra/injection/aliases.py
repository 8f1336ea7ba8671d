"""Generic aliases that say where a typed argument comes from.

Each alias is ``Annotated[T, Source(...)]``: a type checker sees plain ``T`` (so a default
of the wrong type is flagged), the framework reads the ``Source`` and converts the value
to ``T`` (see ``naja_atra.injection.convert``). The value is read under the parameter's
own name; for another name use a marker inside ``Annotated``
(``Annotated[int, Parameter("page-size")] = 20``).

=========================  ======================================================
``page: Query[int] = 1``   query or form parameter ``page`` as ``int``
``tags: Query[list[int]]`` every value of the repeated parameter ``tags``
``ua: FromHeader[str]``    header ``ua`` (``x_token`` also finds ``X-Token``)
``sid: FromCookie[str]``   the value of cookie ``sid``
``id: FromPath[int]``      the ``{id}`` segment of the route's path
``user: Body[User]``       the JSON body as ``User`` (dataclass, ``TypedDict``,
                           ``list[...]``, ``dict[...]``, scalars)
=========================  ======================================================

Without a default the value is required (a missing one is a 400 listing it); with a default
the default is used when the request does not carry the value. ``Optional[...]`` inside
(``Query[Optional[int]] = None``) accepts an empty value as ``None``.

A plain dataclass or ``TypedDict`` annotation (``user: User``) also reads the JSON body.
"""
from __future__ import annotations

from typing import TypeVar

from typing_extensions import Annotated

from .markers import Source

__all__ = ["Query", "FromHeader", "FromCookie", "FromPath", "Body"]

T = TypeVar("T")

#: A query string or form parameter (every value when ``T`` is a list type).
Query = Annotated[T, Source("query")]
#: A request header (looked up case-insensitively; ``_`` may stand for ``-``).
FromHeader = Annotated[T, Source("header")]
#: The value of a request cookie.
FromCookie = Annotated[T, Source("cookie")]
#: A ``{name}`` segment of the route's path (or what a wildcard matched).
FromPath = Annotated[T, Source("path")]
#: The JSON request body, checked and converted to ``T``.
Body = Annotated[T, Source("body")]
