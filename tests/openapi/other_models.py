"""A second module with classes named like those of the tests' own module, for the
component name clash tests."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class User:
    """The other module's User."""

    login: str
