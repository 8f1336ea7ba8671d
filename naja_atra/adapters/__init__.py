"""Serving an application from someone else's server: ASGI 3 (``adapters.asgi``: uvicorn,
hypercorn) and WSGI (``adapters.wsgi``: gunicorn). Both hand the framework's ``Request`` to
``app.dispatcher`` and turn the ``Outgoing`` it returns into their protocol's messages.
"""
