"""End-to-end fixtures: a real server on 127.0.0.1 (a free port), on both drivers (the
``driver`` fixture of ``tests/conftest.py``)."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import pytest

from naja_atra import Application

from ..support import Client, serving


@pytest.fixture
def serve(driver: str) -> Iterator[Callable[..., Client]]:
    """``client = serve(app, **start_options)`` starts ``app`` on a free port; stopped after the test."""
    with contextlib.ExitStack() as stack:
        def start(app: Application, **options: Any) -> Client:
            return stack.enter_context(serving(app, driver, **options))

        yield start
