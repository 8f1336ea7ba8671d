"""User-defined argument kinds: ``@model_binding(T)`` and ``@default_model_binding``.

As in the original framework, a model binding is a class built per request with
``(request, response, arg_name, arg_type, default_value)`` whose ``bind()`` (plain or
``async``) returns the argument's value::

    @app.model_binding(Person)
    class PersonBinding(ModelBinding):
        def bind(self) -> Person:
            return Person(self.request.parameter.get("name", "anonymous"))

    @app.default_model_binding
    class Fallback(ModelBinding):
        async def bind(self) -> Any:
            return self.default_value

``@model_binding(T)`` serves every parameter annotated ``T`` (or, without annotation,
whose default is a ``T``) and wins over the built-in kinds, as registering one did in the
original framework. ``@default_model_binding`` serves the parameters no kind claims (an
unknown annotation, a default of an unknown type) instead of failing the build or passing
the default unchanged.

Registrations live in a :class:`ModelBindingRegistry`, one per application
(``app.model_bindings``); the built-in ``naja_atra.resolvers`` plugin turns them into
resolvers when the application is built. A ``bind()`` that raises ``InjectionError``
has its errors listed with the request's other bad arguments; one that returns None for
a parameter without a default is a missing argument (a 400), as in the original framework.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, Optional, Type, TypeVar, overload

from ..http.errors import ConfigurationError, InjectionError
from .convert import strip_optional
from .params import Param, Resolver

if TYPE_CHECKING:
    from ..app.context import RequestContext
    from ..http.request import Request
    from ..http.response import Response

__all__ = ["ModelBinding", "ModelBindingRegistry", "bindings_of", "find_bindings", "binding_resolver"]


class ModelBinding:
    """Base of a user-defined argument kind: override :meth:`bind`.

    ``request`` and ``response`` are the current ones; ``arg_name`` is the controller
    parameter's name, ``arg_type`` its annotation (or the type of its default when it has
    none), ``default_value`` its default (None when it has none). ``_kws`` is naja-atra 1.x's
    keyword form of the default (``{"val": default_value}``, empty when the default is None),
    kept for subclasses written against 1.x. The framework passes the five arguments by
    position, so a subclass may name its own ``__init__`` parameters as 1.x did
    (``arg``, ``val``).
    """

    def __init__(self, request: Request, response: Response, arg_name: str, arg_type: Any,
                 default_value: Any = None) -> None:
        self.request = request
        self.response = response
        self.arg_name = arg_name
        self.arg_type = arg_type
        self.default_value = default_value
        self._kws: dict[str, Any] = {} if default_value is None else {"val": default_value}

    def bind(self) -> Any:
        """The argument's value (may be ``async def``). The base gives the default."""
        return self.default_value


#: A model binding class: ``ModelBinding`` or any class with the same constructor and ``bind``.
BindingClass = Type[Any]
B = TypeVar("B", bound=BindingClass)


def _check(binding: Any, where: str) -> None:
    if not inspect.isclass(binding) or not callable(getattr(binding, "bind", None)):
        raise ConfigurationError(f"{where} goes on a class with a bind() method, not {binding!r}")


def binding_resolver(binding: BindingClass, param: Param) -> Resolver:
    """The resolver that builds ``binding`` for ``param`` and calls its ``bind()``;
    asynchronous (a coroutine function) when ``bind`` is ``async def``.

    As in naja-atra 1.x, a parameter without a default whose ``bind()`` gives None is
    missing: a 400 (an ``InjectionError`` listing it as a required parameter)."""
    name = param.name
    default = param.default if param.has_default else None
    arg_type = param.annotation if param.annotation is not Param.EMPTY else (
        type(param.default) if param.has_default else Param.EMPTY)
    required = not param.has_default
    expected = getattr(arg_type, "__name__", None) or str(arg_type)

    def checked(value: Any) -> Any:
        if value is None and required:
            raise InjectionError.missing(name, "query", expected)
        return value

    if inspect.iscoroutinefunction(getattr(binding, "bind", None)):
        async def resolve_async(ctx: RequestContext) -> Any:
            return checked(await binding(ctx.request, ctx.response, name, arg_type, default).bind())
        return resolve_async

    def resolve(ctx: RequestContext) -> Any:
        value = binding(ctx.request, ctx.response, name, arg_type, default).bind()
        if inspect.isawaitable(value):  # a plain ``bind`` returning an awaitable cannot be awaited here
            close = getattr(value, "close", None)
            if close is not None:
                close()
            raise ConfigurationError(f"{binding.__qualname__}.bind returned an awaitable: make it `async def`")
        return checked(value)
    return resolve


class ModelBindingRegistry:
    """The model bindings of one application.

    ``on_change`` is called after every registration (the application passes its
    "rebuild before the next request" callback).
    """

    def __init__(self, on_change: Optional[Callable[[], None]] = None) -> None:
        #: Binding class by the type it serves.
        self.bindings: dict[Any, BindingClass] = {}
        #: The binding of parameters no kind claims, if any.
        self.default: Optional[BindingClass] = None
        self._on_change = on_change

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    # -- registration -------------------------------------------------------------------
    def register(self, arg_type: Any, binding: BindingClass) -> None:
        """Serve parameters of type ``arg_type`` with ``binding`` (replacing an earlier one)."""
        _check(binding, f"@model_binding({arg_type!r})")
        self.bindings[arg_type] = binding
        self._changed()

    def set_default(self, binding: Optional[BindingClass]) -> None:
        """Serve the parameters no kind claims with ``binding`` (None: no default binding)."""
        if binding is not None:
            _check(binding, "@default_model_binding")
        self.default = binding
        self._changed()

    def model_binding(self, arg_type: Any) -> Callable[[B], B]:
        """Decorator: ``@model_binding(T)`` on a binding class."""
        def decorate(binding: B) -> B:
            self.register(arg_type, binding)
            return binding
        return decorate

    @overload
    def default_model_binding(self, __binding: B) -> B: ...

    @overload
    def default_model_binding(self) -> Callable[[B], B]: ...

    def default_model_binding(self, __binding: Any = None) -> Any:
        """Decorator, bare or called: ``@default_model_binding`` / ``@default_model_binding()``."""
        def decorate(binding: B) -> B:
            self.set_default(binding)
            return binding
        if __binding is not None:
            return decorate(__binding)
        return decorate

    # -- lookup (at build) --------------------------------------------------------------
    def lookup(self, param: Param) -> Optional[BindingClass]:
        """The binding registered for ``param``'s type: its annotation (``Optional``
        removed too), else the type of its default."""
        if not self.bindings:
            return None
        candidates: list[Any] = []
        if param.annotation is not Param.EMPTY:
            candidates.append(param.annotation)
            candidates.append(strip_optional(param.annotation)[0])
        if param.has_default and param.default is not None:
            candidates.append(type(param.default))
        for tp in candidates:
            try:
                found = self.bindings.get(tp)
            except TypeError:  # an unhashable annotation
                continue
            if found is not None:
                return found
        return None

    def resolver_for(self, param: Param) -> Optional[Resolver]:
        """The resolver of ``param`` from a ``@model_binding(T)``, or None."""
        binding = self.lookup(param)
        return binding_resolver(binding, param) if binding is not None else None

    def default_resolver_for(self, param: Param) -> Optional[Resolver]:
        """The resolver of ``param`` from the ``@default_model_binding``, or None."""
        return binding_resolver(self.default, param) if self.default is not None else None



def find_bindings(app: Any) -> Optional[ModelBindingRegistry]:
    """``app.model_bindings`` if the application has one (what the resolvers plugin reads)."""
    registry = getattr(app, "model_bindings", None)
    return registry if isinstance(registry, ModelBindingRegistry) else None


def bindings_of(app: Any) -> ModelBindingRegistry:
    """``app.model_bindings``, attached on first use (with the application's rebuild
    callback) to an application class that does not define it yet."""
    registry = find_bindings(app)
    if registry is None:
        registry = ModelBindingRegistry(getattr(app, "_changed", None))
        setattr(app, "model_bindings", registry)
    return registry
