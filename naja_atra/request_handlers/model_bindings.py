"""``naja_atra.request_handlers.model_bindings``: the 1.x import path of ``ModelBinding``.

naja-atra 1.x defined ``ModelBinding``, the base of ``@model_binding`` and
``@default_model_binding`` classes, in this module; ``from
naja_atra.request_handlers.model_bindings import ModelBinding`` keeps working and gives the
class defined in ``naja_atra/injection/model_binding.py`` (also exported as
``naja_atra.ModelBinding``). A subclass written for 1.x uses the same attributes
(``request``, ``response``, ``arg_name``, ``arg_type``, ``default_value``) and a plain or
``async`` ``bind()``. 1.x's built-in bindings (``StrModelBinding``, ``ModelBindingConf``...)
were internals: the built-in argument kinds are in ``naja_atra/injection/builtin.py``.
"""
from __future__ import annotations

from ..injection.model_binding import ModelBinding

__all__ = ["ModelBinding"]
