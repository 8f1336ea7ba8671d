"""WebSocket support: a sans-I/O RFC 6455 protocol core with permessage-deflate (RFC 7692).

The submodules do no I/O of their own:

* :mod:`naja_atra.websocket.handshake` validates the HTTP upgrade request and builds the
  ``101 Switching Protocols`` response headers;
* :mod:`naja_atra.websocket.deflate` negotiates and implements permessage-deflate;
* :mod:`naja_atra.websocket.protocol` turns received bytes into events and messages into
  frames.

Drivers (threading, asyncio) move the bytes between a socket and these objects.
"""
