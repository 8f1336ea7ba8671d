"""The 400 of a request whose arguments do not resolve, listing every bad one.

``InjectionError`` is an ``HttpError`` (so filters, ``@error_message`` pages and plugins
see a 400 like any other) that carries ``errors``: one :class:`ArgumentError` per bad
value. The built-in ``naja_atra.resolvers`` plugin renders it as JSON::

    {"code": 400, "message": "Invalid request",
     "explain": "Parameter[page]: not an integer",
     "errors": [{"name": "page", "in": "query", "expected": "int", "received": "abc",
                 "reason": "not an integer"}]}

:class:`ArgumentPlan` is how one answer lists *every* bad argument: each failure of a
controller's resolvers is recorded, the remaining arguments are still resolved, and one
combined ``InjectionError`` is raised before the controller is called.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ..http.errors import HttpError
from .convert import ConversionError

if TYPE_CHECKING:
    from ..app.context import RequestContext
    from .params import Resolver

__all__ = ["ArgumentError", "InjectionError", "ArgumentPlan", "LOCATIONS"]

#: Where a value is looked for, as the ``in`` of an error: query string, form body,
#: header, cookie, path segment or JSON body.
LOCATIONS = ("query", "form", "header", "cookie", "path", "body")

# How the human-readable ``explain`` names each location (SPEC.md's wording, e.g. "Parameter[page]").
_KIND = {"query": "Parameter", "form": "Parameter", "header": "Header", "cookie": "Cookie",
         "path": "PathValue", "body": "Body"}


@dataclass(frozen=True)
class ArgumentError:
    """One bad or missing argument value.

    ``name`` is the parameter, header or cookie name (for a body, the path of the bad field,
    ``"items[2].price"``, or the controller parameter's name for the body as a whole);
    ``location`` is one of :data:`LOCATIONS` (``in`` in JSON); ``received`` is the value
    sent (None when it was missing; objects and arrays of a body as ``"object"``/``"array"``).
    """

    name: str
    location: str
    expected: str
    received: Any
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``name``, ``in``, ``expected``, ``received``, ``reason``."""
        return {"name": self.name, "in": self.location, "expected": self.expected,
                "received": self.received, "reason": self.reason}

    def describe(self) -> str:
        """One human-readable line, e.g. ``Parameter[page]: not an integer``."""
        kind = _KIND.get(self.location, self.location)
        if self.reason == "required":
            return f"{kind}[{self.name}] is required"
        return f"{kind}[{self.name}]: {self.reason}"


class InjectionError(HttpError):
    """A 400 listing every argument of the request that is missing or does not convert."""

    def __init__(self, errors: Sequence[ArgumentError], message: str = "Invalid request") -> None:
        self.errors: list[ArgumentError] = list(errors)
        super().__init__(400, message, "; ".join(e.describe() for e in self.errors) + "." if self.errors else "")

    @classmethod
    def missing(cls, name: str, location: str, expected: str = "str") -> InjectionError:
        """The error of a required value the request does not carry."""
        return cls([ArgumentError(name, location, expected, None, "required")])

    @classmethod
    def from_conversion(cls, exc: ConversionError, name: str, location: str) -> InjectionError:
        """The errors of a value that did not convert: for a body, each issue's path inside
        the body becomes its name; otherwise the issues are named after the value (an
        item of a list as ``tags[1]``)."""
        errors = []
        for issue in exc.issues:
            if location == "body":
                where = issue.path or name
            elif issue.path.startswith("["):
                where = name + issue.path
            elif issue.path:
                where = f"{name}.{issue.path}"
            else:
                where = name
            errors.append(ArgumentError(where, location, issue.expected, issue.received, issue.reason))
        return cls(errors)

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer: ``code``, ``message``, ``explain`` and ``errors``."""
        return {"code": self.code, "message": self.message, "explain": self.explain,
                "errors": [e.to_dict() for e in self.errors]}


class ArgumentPlan:
    """The resolvers of one controller that may report a bad argument, so that one 400
    lists them all.

    ``invoke.CompiledCall`` calls a controller's resolvers one by one, in parameter order,
    and stops at the first exception. The resolvers plugin therefore registers each such
    (synchronous) resolver here at build time and hands the compiled call the wrapper
    :meth:`add` returns. At request time a wrapper whose resolver raises
    ``InjectionError`` records the errors in ``ctx.state`` and lets the next arguments be
    resolved; the wrapper of the *last* resolver of the plan (known by then: the plan is
    complete once the route is built) raises one ``InjectionError`` with everything
    recorded, before the controller is called.

    A request whose arguments are fine pays one ``try`` and one comparison per wrapper;
    ``ctx.state`` is only touched when something failed. Other exceptions (an
    ``HttpError`` that is not about an argument, a bug) propagate at once.
    """

    __slots__ = ("names", "resolvers", "key")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.resolvers: list[Resolver] = []
        #: Where the errors of one request wait in ``ctx.state`` for the last wrapper.
        self.key = f"naja_atra.injection.plan.{id(self):x}"

    def add(self, name: str, resolver: Resolver) -> Resolver:
        """Register ``resolver`` for parameter ``name``; return what to call instead."""
        if name in self.names:  # asked again for the same parameter: replace it
            index = self.names.index(name)
            self.resolvers[index] = resolver
        else:
            index = len(self.names)
            self.names.append(name)
            self.resolvers.append(resolver)
        resolvers = self.resolvers  # grows while the route is built; read-only afterwards
        key = self.key

        def resolve(ctx: RequestContext) -> Any:
            try:
                value = resolver(ctx)
            except InjectionError as exc:
                state = ctx.state
                if index == len(resolvers) - 1:
                    earlier = state.pop(key, None) if state is not None else None
                    if earlier:
                        raise InjectionError(earlier + exc.errors) from None
                    raise
                if state is None:
                    state = ctx.state = {}
                state.setdefault(key, []).extend(exc.errors)
                return None  # never reaches the controller: the last wrapper raises
            if index == len(resolvers) - 1:
                state = ctx.state
                if state is not None:
                    earlier = state.pop(key, None)
                    if earlier:
                        raise InjectionError(earlier)
            return value
        return resolve
