"""``naja_atra.request_handlers``: the 1.x package path of two public classes.

In naja-atra 1.x this package held the request handlers (HTTP parsing, controller calls,
WebSocket framing) and, beside them, two classes that applications use directly:
``ModelBinding`` (``naja_atra.request_handlers.model_bindings``) and ``LocalSessionFactory``
(``naja_atra.request_handlers.http_session_local_impl``). Only those two import paths are kept,
as aliases: the real definitions live in ``naja_atra/injection/model_binding.py`` and
``naja_atra/sessions/local.py``. The 1.x handler classes were internals and have no
counterpart here (requests are handled by ``naja_atra/app/pipeline.py`` and the drivers in
``naja_atra/servers/``).
"""
