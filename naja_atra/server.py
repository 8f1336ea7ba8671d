"""``naja_atra.server``: start and stop the default application (the original framework's server module)."""
from __future__ import annotations

from typing import Any, Optional

from .app.default import default_app


def scan(base_dir: str = "", regx: str = r"", project_dir: str = "") -> list[str]:
    """Import controller modules (see ``Application.scan``)."""
    return default_app.scan(base_dir, regx, project_dir)


def start(host: str = "", port: int = 9090, **options: Any) -> None:
    """Serve the default application until ``stop()`` (blocks)."""
    default_app.start(host, port, **options)


async def start_async(host: str = "", port: int = 9090, **options: Any) -> None:
    """Serve the default application in the running event loop."""
    await default_app.start_async(host, port, **options)


def stop(timeout: Optional[float] = None) -> None:
    """Stop the default application's server (see ``Application.stop``)."""
    default_app.stop(timeout)


def is_ready() -> bool:
    """True once the default application's server accepts connections."""
    return default_app.is_ready()
