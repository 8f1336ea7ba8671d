"""How one 400 lists every bad argument of a request: :class:`ArgumentPlan`, and
:func:`conversion_error`, the ``InjectionError`` of a value that did not convert.

``InjectionError`` itself (with ``ArgumentError``) is in :mod:`naja_atra.http.errors`, with
the framework's other exceptions.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..http.errors import ArgumentError, InjectionError
from .convert import ConversionError
from .source import copy_sources

if TYPE_CHECKING:
    from ..app.context import RequestContext
    from .params import Resolver

__all__ = ["ArgumentPlan", "conversion_error"]


def conversion_error(exc: ConversionError, name: str, location: str) -> InjectionError:
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
    return InjectionError(errors)



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
        """Register ``resolver`` for parameter ``name``; return what to call instead (it
        carries the ``source``/``sources`` of ``resolver``, if any: :mod:`naja_atra.injection.source`)."""
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
        # What the resolver reads (for the OpenAPI document) stays visible on the wrapper.
        return copy_sources(resolve, resolver)
