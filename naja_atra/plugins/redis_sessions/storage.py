"""How a session is kept in Redis: its id and key, its hash's fields, and the Lua scripts.

Storage
    One Redis hash per session, at ``prefix + id``: ``m:created`` and ``m:accessed`` (seconds
    since the epoch) and one ``a:<name>`` field per attribute, whose value is
    ``serializer.dumps(value)`` (JSON by default). The key's TTL is the inactivity limit; it is
    refreshed (``PEXPIRE``) by every lookup and every write, so Redis itself expires idle
    sessions. Lookups and writes are Lua scripts: a write never recreates a session that
    expired or was invalidated meanwhile, and an id this factory did not issue is never
    adopted (``get_session(unknown, create=True)`` makes a session with a new random id).

The factory runs the scripts (:meth:`RedisSessionFactory.load`, ``write_fields``); this
module only says what they do and how their arguments and replies are laid out.
"""
from __future__ import annotations

import contextlib
import re
import secrets
from typing import Any, Iterable, Mapping, Union

__all__ = [
    "ACCESSED",
    "ATTR",
    "CREATED",
    "LOAD_SCRIPT",
    "PLAUSIBLE_ID",
    "WRITE_SCRIPT",
    "metadata_fields",
    "new_session_id",
    "parse_hash",
    "write_args",
]

# Hash fields: metadata under "m:", attributes under "a:" (so no attribute name can clash).
CREATED = "m:created"
ACCESSED = "m:accessed"
ATTR = "a:"
_CREATED_BYTES = CREATED.encode()
_ATTR_BYTES = ATTR.encode()
# What ``secrets.token_urlsafe`` produces, with room for other issuers' lengths. Anything else
# cannot be one of our ids and is answered without asking Redis.
PLAUSIBLE_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")

# KEYS[1] = session key; ARGV[1] = now; ARGV[2] = ttl in ms.
# An existing session: record the access, refresh the TTL, return every field. Else nil.
LOAD_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'm:accessed', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HGETALL', KEYS[1])
"""

# KEYS[1] = session key; ARGV[1] = 'new' | 'existing'; ARGV[2] = ttl in ms; ARGV[3] = n,
# then n field/value pairs to set, then the fields to delete.
# Returns 1 when written, 0 when an existing session is gone (expired or invalidated: it is
# not recreated), -1 when a new session's key is already taken.
WRITE_SCRIPT = """
local exists = redis.call('EXISTS', KEYS[1])
if ARGV[1] == 'new' then
  if exists == 1 then return -1 end
elseif exists == 0 then
  return 0
end
local n = tonumber(ARGV[3])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n)) end
if #ARGV > 3 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 4 + 2 * n, #ARGV)) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


def new_session_id() -> str:
    """A new random session id: 43 URL-safe characters, 256 random bits."""
    return secrets.token_urlsafe(32)


def metadata_fields(created: float, accessed: float) -> dict[str, bytes]:
    """The ``m:`` fields written when a session is first stored."""
    return {CREATED: repr(created).encode(), ACCESSED: repr(accessed).encode()}


def write_args(mode: str, ttl_ms: int, fields: Mapping[str, bytes],
               removed: tuple[str, ...]) -> list[Union[str, bytes, int]]:
    """The ``ARGV`` of :data:`WRITE_SCRIPT`: set ``fields``, delete the fields ``removed``."""
    args: list[Union[str, bytes, int]] = [mode, ttl_ms, len(fields)]
    for name, value in fields.items():
        args += [name.encode("utf-8"), value]
    args += [name.encode("utf-8") for name in removed]
    return args


def parse_hash(reply: Iterable[Any], created: float) -> tuple[float, dict[str, bytes]]:
    """The creation time and the attributes' stored values in :data:`LOAD_SCRIPT`'s reply
    (``field, value, ...``); ``created`` is used when the hash does not say.
    """
    items = iter(reply)
    values: dict[str, bytes] = {}
    for field, value in zip(items, items, strict=False):
        field_b = field if isinstance(field, bytes) else str(field).encode("utf-8")
        value_b = value if isinstance(value, bytes) else str(value).encode("utf-8")
        if field_b.startswith(_ATTR_BYTES):
            values[field_b[2:].decode("utf-8", "replace")] = value_b
        elif field_b == _CREATED_BYTES:
            with contextlib.suppress(ValueError):
                created = float(value_b)
    return created, values
