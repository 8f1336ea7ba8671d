"""``naja_atra.request_handlers.http_session_local_impl``: the 1.x import path of
``LocalSessionFactory``.

naja-atra 1.x defined its in-memory session store, ``LocalSessionFactory``, in this module;
importing it from here keeps working and gives the class defined in
``naja_atra/sessions/local.py`` (also exported as ``naja_atra.LocalSessionFactory`` and
``naja_atra.sessions.LocalSessionFactory``): ``set_session_factory(LocalSessionFactory())``
goes back to in-memory sessions. 1.x's ``LocalSessionImpl`` and ``LocalSessionHolder`` were
internals and are not offered.
"""
from __future__ import annotations

from ..sessions.local import LocalSessionFactory

__all__ = ["LocalSessionFactory"]
