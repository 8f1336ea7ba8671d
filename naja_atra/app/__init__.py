"""The application core: ``Application`` (registration API, build, start/stop), what the
decorators record (``registry``, ``routes``), the request pipeline and the pieces it runs
per request (``pipeline``, ``invoke``, ``filtering``, ``render``, ``context``).

Nothing here reads sockets or parses HTTP: the drivers (``naja_atra.servers``), the
adapters (``naja_atra.adapters``) and the test client (``naja_atra.testing``) call
``app.dispatcher`` with a ``Request`` and send the ``Outgoing`` it returns.
"""
