"""WebSocket support: a sans-I/O RFC 6455 protocol core with permessage-deflate (RFC 7692).

The submodules do no I/O of their own:

* :mod:`naja_atra.websocket.handshake` validates the HTTP upgrade request and builds the
  ``101 Switching Protocols`` response headers;
* :mod:`naja_atra.websocket.deflate` negotiates and implements permessage-deflate;
* :mod:`naja_atra.websocket.protocol` turns received bytes into events and messages into
  frames;
* :mod:`naja_atra.websocket.outbox` queues a session's outgoing frames in order.

Drivers (threading, asyncio) move the bytes between a socket and these objects; sends never
wait for the client (:mod:`.socket_sink`, :mod:`.transport_sink`, and :mod:`.reactor` for the
threading driver's timers and slow writes).
"""
