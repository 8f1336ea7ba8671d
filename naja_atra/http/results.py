"""Values a controller may return besides str, bytes, dict and ``Response``."""
from __future__ import annotations


class StaticFile:
    """Send the file at ``file_path`` with ``content_type`` (conditional GET supported)."""

    def __init__(self, file_path: str, content_type: str = "application/octet-stream") -> None:
        self.file_path = file_path
        self.content_type = content_type

    def __repr__(self) -> str:
        return f"StaticFile({self.file_path!r}, {self.content_type!r})"


class Redirect:
    """Answer ``302 Found`` with ``Location: url``."""

    def __init__(self, url: str) -> None:
        self._url = url

    @property
    def url(self) -> str:
        """Where to redirect to."""
        return self._url

    def __repr__(self) -> str:
        return f"Redirect({self._url!r})"
